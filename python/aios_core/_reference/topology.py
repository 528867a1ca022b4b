"""Plain-Python twin of csrc/topology/select.cpp: go-gpuallocator best effort by full enumeration.

No pruning, no budget: it walks every partition of the padded list in the same order (each set
starts with the first unused slot, companions in lexicographic order) and keeps the first one of
maximal score, exactly as the policy describes. Used as the test oracle and bench baseline.
"""

from __future__ import annotations

from itertools import combinations
from typing import Iterator, Sequence


def _partitions(slots: list[int], size: int) -> Iterator[list[tuple[int, ...]]]:
    if not slots:
        yield []
        return
    first, rest = slots[0], slots[1:]
    for combo in combinations(rest, size - 1):
        chosen = set(combo)
        remaining = [s for s in rest if s not in chosen]
        for tail in _partitions(remaining, size):
            yield [(first, *combo)] + tail


def select_best_effort(score: Sequence[Sequence[int]], required: Sequence[int], size: int) -> list[int] | None:
    """Positions (into the score matrix) of the chosen set, or None when nothing qualifies."""
    m = len(score)
    if size < 1 or m < size or len(required) > size:
        raise ValueError("bad request")
    req = set(required)
    if size == 1:
        for p in range(m):
            if not req or p in req:
                return [p]
        return None
    pads = (size - m % size) % size
    slots = list(range(m + pads))

    def pair(a: int, b: int) -> int:
        return score[a][b] if a < m and b < m else 0

    def set_score(s: tuple[int, ...]) -> int:
        return sum(pair(a, b) for a, b in combinations(s, 2))

    def valid_set(s: tuple[int, ...]) -> bool:
        n_pads = sum(1 for p in s if p >= m)
        return n_pads in (0, pads)

    def holds_required(s: tuple[int, ...]) -> bool:
        return all(p < m for p in s) and req <= set(s)

    best, best_score = None, 0
    for part in _partitions(slots, size):
        if not all(valid_set(s) for s in part):
            continue
        if not any(holds_required(s) for s in part):
            continue
        total = sum(set_score(s) for s in part)
        if best is None or total > best_score:
            best, best_score = part, total
    if best is None:
        return None
    choice, choice_score = None, -1
    for s in best:
        if holds_required(s) and set_score(s) > choice_score:
            choice, choice_score = list(s), set_score(s)
    return choice
