"""Plain-Python twins of every native algorithm: the oracle for tests and the baseline for benchmarks.

Each module mirrors one area of the C++ core (placement, binpack, fairshare, partition, topology)
and must give the same answers on the same inputs; tests assert that they agree.
"""
