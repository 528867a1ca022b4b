"""Plain-Python twins of csrc/partition: the exact chain split and the pipeline planner.

Same arithmetic in the same order as the native code (prefix sums, differences), so results agree
bit for bit; used as the test oracle and the bench baseline.
"""

from __future__ import annotations

from typing import Sequence


def split_chain(costs: Sequence[float], k: int) -> tuple[float, list[int]]:
    """(bottleneck, boundaries) of the exact min-bottleneck split, by the plain O(n^2 k) DP."""
    n = len(costs)
    if n < 1 or not 1 <= k <= n:
        raise ValueError("bad split request")
    P = [0.0] * (n + 1)
    for i, c in enumerate(costs):
        P[i + 1] = P[i] + float(c)
    prev = [0.0] * (n + 1)
    for j in range(1, n + 1):
        prev[j] = P[j]
    for s in range(2, k + 1):
        cur = [0.0] * (n + 1)
        for j in range(s, n - (k - s) + 1):
            cur[j] = min(max(prev[i], P[j] - P[i]) for i in range(s - 1, j))
        prev = cur
    b = prev[n]
    bounds = [0]
    start = 0
    for s in range(k):
        end = start + 1
        end_max = n - (k - 1 - s)
        while end < end_max and P[end + 1] - P[start] <= b:
            end += 1
        bounds.append(end)
        start = end
    bounds[k] = n
    return b, bounds
