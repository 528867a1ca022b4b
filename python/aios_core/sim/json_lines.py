"""The line on which each element of a JSON job list starts, so that errors can name it.

`json.loads` keeps no positions; this walks the (already validated) text with `raw_decode` over
the top level only: a bare list, or the value of the top-level key "jobs".
"""

from __future__ import annotations

import json

_DECODER = json.JSONDecoder()
_SPACE = " \t\n\r"


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _SPACE:
        i += 1
    return i


def _jobs_start(text: str) -> int | None:
    """Index of the '[' that opens the job list, or None when there is none."""
    i = _skip(text, 0)
    if text[i:i + 1] == "[":
        return i
    if text[i:i + 1] != "{":
        return None
    i = _skip(text, i + 1)
    while i < len(text) and text[i] != "}":
        key, i = _DECODER.raw_decode(text, i)
        i = _skip(text, _skip(text, i) + 1)  # past the ':'
        if key == "jobs":
            return i if text[i:i + 1] == "[" else None
        _, i = _DECODER.raw_decode(text, i)
        i = _skip(text, i)
        i = _skip(text, i + 1) if text[i:i + 1] == "," else i
    return None


def element_lines(text: str) -> list[int]:
    """1-based line of each element of the job list in `text` (valid JSON); [] when there is no list.
    With a key repeated at the top level the last "jobs" wins in json.loads and the first here."""
    start = _jobs_start(text)
    if start is None:
        return []
    lines, i, line, counted = [], _skip(text, start + 1), 1, 0
    while i < len(text) and text[i] != "]":
        line += text.count("\n", counted, i)
        counted = i
        lines.append(line)
        _, i = _DECODER.raw_decode(text, i)
        i = _skip(text, i)
        i = _skip(text, i + 1) if text[i:i + 1] == "," else i
    return lines
