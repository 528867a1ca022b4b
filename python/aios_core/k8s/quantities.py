"""Exact Kubernetes resource quantities ("100m", "1.5Gi", "2e3", "8") as integers.

The grammar is apimachinery's `resource.Quantity`: a signed decimal number, then a binary suffix
(Ki Mi Gi Ti Pi Ei), a decimal suffix (n u m k M G T P E, or none) or a decimal exponent
(e3, E-2). Parsing goes through `fractions.Fraction`, so no value is rounded before the final step,
which rounds up like `Quantity.Value()` / `MilliValue()` do.
"""

from __future__ import annotations

import re
from fractions import Fraction

from aios_core.errors import ConfigError

_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9), "u": Fraction(1, 10**6), "m": Fraction(1, 1000), "": Fraction(1),
    "k": Fraction(10**3), "M": Fraction(10**6), "G": Fraction(10**9), "T": Fraction(10**12),
    "P": Fraction(10**15), "E": Fraction(10**18),
}
_NUMBER = r"(?P<num>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
_PATTERN = re.compile(_NUMBER + r"(?:(?P<bin>Ki|Mi|Gi|Ti|Pi|Ei)|[eE](?P<exp>[+-]?[0-9]+)|(?P<dec>[numkMGTPE]?))")
# Quantities beyond this are not resource amounts (the engine stores int64; 2^62 leaves headroom).
MAX_QUANTITY = 1 << 62


def parse_quantity(value: object, field: str) -> Fraction:
    """The exact value of a quantity string (or a JSON number); ConfigError names the field."""
    if isinstance(value, bool):
        raise ConfigError(f"{field}: expected a quantity like '500m' or '4Gi', got {value!r}")
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ConfigError(f"{field}: expected a finite quantity, got {value!r}")
        return Fraction(value)
    if not isinstance(value, str):
        raise ConfigError(f"{field}: expected a quantity string, got {type(value).__name__} {value!r}")
    m = _PATTERN.fullmatch(value.strip())
    if m is None:
        raise ConfigError(f"{field}: not a Kubernetes quantity: {value!r}")
    number = Fraction(m.group("num"))
    if m.group("bin"):
        return number * _BINARY[m.group("bin")]
    if m.group("exp") is not None:
        exp = int(m.group("exp"))
        if abs(exp) > 60:
            raise ConfigError(f"{field}: exponent out of range in {value!r}")
        return number * Fraction(10) ** exp
    return number * _DECIMAL[m.group("dec") or ""]


def _ceil(x: Fraction) -> int:
    return -((-x.numerator) // x.denominator)


def to_int(value: object, field: str, milli: bool = False) -> int:
    """The quantity as a non-negative integer: in thousandths when `milli` (cpu), else in units;
    rounded up, as Kubernetes does."""
    q = parse_quantity(value, field)
    if q < 0:
        raise ConfigError(f"{field}: must not be negative, got {value!r}")
    out = _ceil(q * 1000 if milli else q)
    if out > MAX_QUANTITY:
        raise ConfigError(f"{field}: quantity too large, got {value!r}")
    return out
