"""Kubernetes quantity parsing: exact values, Kubernetes' rounding up, clear errors."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aios_core.errors import ConfigError
from aios_core.k8s.quantities import parse_quantity, to_int

BINARY = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50, "Ei": 1 << 60}
DECIMAL = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18}


@pytest.mark.parametrize(("text", "milli", "expected"), [
    ("100m", True, 100), ("1", True, 1000), ("0.5", True, 500), ("2.25", True, 2250), ("1e3", True, 1_000_000),
    ("1Gi", False, 1 << 30), ("1.5Gi", False, 3 << 29), ("128974848", False, 128974848), ("129e6", False, 129_000_000),
    ("123Mi", False, 123 << 20), ("1056621632Ki", False, 1056621632 << 10), ("8", False, 8), ("1k", False, 1000),
    ("1500m", False, 2), ("1m", False, 1), ("0.1m", True, 1), ("1E-3", True, 1), (".5", True, 500), ("+3", False, 3),
    (4, False, 4), (0.25, True, 250),
])
def test_known_values(text: str | int | float, milli: bool, expected: int) -> None:
    assert to_int(text, "f", milli=milli) == expected


@given(st.integers(0, 10**6), st.sampled_from(sorted(BINARY)))
def test_binary_suffix_is_a_power_of_two(n: int, suffix: str) -> None:
    assert parse_quantity(f"{n}{suffix}", "f") == n * BINARY[suffix]


@given(st.integers(0, 10**6), st.integers(0, 999), st.sampled_from(sorted(DECIMAL)))
def test_decimal_suffix_and_exponent_agree(whole: int, frac: int, suffix: str) -> None:
    text = f"{whole}.{frac:03d}"
    by_suffix = parse_quantity(text + suffix, "f")
    exponent = {1: 0, 10**3: 3, 10**6: 6, 10**9: 9, 10**12: 12, 10**15: 15, 10**18: 18}[DECIMAL[suffix]]
    assert by_suffix == parse_quantity(f"{text}e{exponent}", "f") == Fraction(whole * 1000 + frac, 1000) * DECIMAL[suffix]


@given(st.integers(0, 10**9), st.integers(1, 10**6))
def test_rounds_up_like_kubernetes(num: int, den: int) -> None:
    # A value between two integers rounds up; an integer stays put.
    q = Fraction(num, den)
    text = f"{float(q):.6f}"
    exact = Fraction(text)
    got = to_int(text, "f")
    assert got - 1 < exact <= got


@pytest.mark.parametrize("bad", ["", "abc", "1.2.3", "1Gb", "1 Gi", "--1", "1e", "Gi", "1e999", "NaN", None, True, [1], float("nan"), float("inf")])
def test_malformed_raises_naming_field(bad: object) -> None:
    with pytest.raises(ConfigError, match="spec.cpu"):
        to_int(bad, "spec.cpu")


def test_negative_and_huge_rejected() -> None:
    with pytest.raises(ConfigError, match="negative.*'-1'"):
        to_int("-1", "requests.cpu")
    with pytest.raises(ConfigError, match="too large"):
        to_int("100Ei", "requests.memory")
