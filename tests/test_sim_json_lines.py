"""Errors in a JSON job file name the line of the bad job as well as its index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aios_core.errors import ConfigError
from aios_core.sim.json_lines import element_lines
from aios_core.sim.readers import read_jobs

_values = st.recursive(st.none() | st.integers() | st.text(alphabet="[]{},:\"\\ \nab"),
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
                       max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_values, st.integers(0, 2), st.booleans()), max_size=8),
       st.dictionaries(st.sampled_from(["meta", "x", "note"]), _values, max_size=2), st.booleans())
def test_element_lines_match_where_each_job_was_written(
        jobs: list[tuple[object, int, bool]], other: dict[str, object], wrapped: bool) -> None:
    # write the list by hand, counting lines: blank lines before some elements, some pretty-printed
    parts, expected, line = [], [], 2
    for value, blanks, pretty in jobs:
        line += blanks
        expected.append(line)
        body = json.dumps(value, indent=1 if pretty else None)
        parts.append("\n" * blanks + body)
        line += body.count("\n") + 1
    listing = "[\n" + ",\n".join(parts) + "\n]"
    if wrapped:  # other top-level keys first, on the first line, so the list still starts on line 1
        head = "".join(f"{json.dumps(k)}: {json.dumps(v)}, " for k, v in other.items())
        text = "{" + head + '"jobs": ' + listing + "}"
    else:
        text = listing
    assert json.loads(text) is not None
    assert element_lines(text) == expected


def test_element_lines_without_a_list() -> None:
    assert element_lines('{"jobs": 3}') == [] and element_lines('"x"') == [] and element_lines("[]") == []


def test_bad_job_named_by_line(tmp_path: Path) -> None:
    p = tmp_path / "jobs.json"
    p.write_text('{\n "jobs": [\n  {"arrival": 0, "duration": 10},\n\n  {"arrival": 1,\n   "duration": "x"}\n ]\n}\n')
    with pytest.raises(ConfigError, match=r"jobs.json:5: jobs\[1\]: column 'duration' expects an integer, got 'x'"):
        read_jobs(p)
    p.write_text('[{"arrival": 0, "duration": 10},\n 7]')
    with pytest.raises(ConfigError, match=r"jobs.json:2: jobs\[1\]: expected an object, got int"):
        read_jobs(p)
    p.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ConfigError, match="nested too deeply"):
        read_jobs(p)
