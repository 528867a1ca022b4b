"""Random placement scenarios in the text format of examples/README.md, and what the Python API
(aios_core.Placer) answers on them, line for line as the C and Go examples print."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from aios_core import POLICIES, Cluster, Placer

STRATEGIES = ("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD")
RESOURCE_SETS = (("cpu", "memory", "nvidia.com/gpu"), ("cpu", "memory"), ("cpu", "memory", "pods", "nvidia.com/gpu"))
CAPACITY = {"cpu": [4000, 8000, 16000, 32000], "memory": [2**33, 2**34, 2**35], "pods": [2, 4, 110], "nvidia.com/gpu": [0, 4000, 8000]}
REQUEST = {"cpu": [0, 500, 1000, 2000, 4000, 8000], "memory": [2**28, 2**30, 2**32, 2**33], "pods": [1], "nvidia.com/gpu": [0, 0, 250, 500, 1000, 2000, 4000]}


@dataclass(frozen=True)
class Scenario:
    text: str  # the programs' input
    expected: list[str]  # the Python API's answer, as the programs print it


def _rows(rng: np.random.Generator, table: dict[str, list[int]], resources: tuple[str, ...], count: int) -> np.ndarray:
    return np.array([[int(rng.choice(table[r])) for r in resources] for _ in range(count)], dtype=np.int64).reshape(count, len(resources))


def _line(values: np.ndarray) -> str:
    return " ".join(str(int(v)) for v in values)


def _domain_ids(paths: list[tuple[str, ...]], levels: int) -> np.ndarray:
    """Per node and level, the index of its path prefix in first-seen order (as Placer numbers them)."""
    out = np.zeros((len(paths), levels), dtype=np.int32)
    for level in range(levels):
        ids: dict[tuple[str, ...], int] = {}
        for i, path in enumerate(paths):
            out[i, level] = ids.setdefault(path[: level + 1], len(ids))
    return out


def random_scenario(rng: np.random.Generator) -> Scenario:
    resources = RESOURCE_SETS[int(rng.integers(len(RESOURCE_SETS)))]
    R = len(resources)
    gpu_column = resources.index("nvidia.com/gpu") if "nvidia.com/gpu" in resources else -1
    n, levels = int(rng.integers(1, 9)), int(rng.integers(0, 3))
    paths = []
    for _ in range(n):
        zone = int(rng.integers(2))
        paths.append((f"zone{zone}", f"rack{zone}-{int(rng.integers(3))}")[:levels])
    capacity = _rows(rng, CAPACITY, resources, n)
    policy = str(rng.choice([p for p in POLICIES if p != "fgd"]))
    seed = int(rng.integers(0, 2**63))
    batch = _rows(rng, REQUEST, resources, int(rng.integers(1, 13)))
    members = int(rng.integers(1, 5))
    gang = _rows(rng, REQUEST, resources, members)
    strategy = int(rng.integers(4))
    level = int(rng.integers(-1, levels)) if levels else -1
    required = int(level >= 0 and bool(rng.integers(2)))
    min_count = int(rng.integers(0, members + 1))
    batch2 = _rows(rng, REQUEST, resources, int(rng.integers(1, 7)))
    explain = _rows(rng, REQUEST, resources, 1)[0]

    cluster = Cluster.from_arrays(capacity, resources, topology=[list(p) for p in paths] if levels else None)
    placer = Placer(cluster, policy, seed=seed)
    nodes1 = placer.place_batch(batch)
    level_name = f"level{level}" if level >= 0 else None
    result = placer.place_gang(
        gang, min_count=min_count or None, strategy=STRATEGIES[strategy],  # type: ignore[arg-type]
        topology_required=level_name if required else None, topology_preferred=None if required else level_name,
    )
    gang_nodes = result.nodes if result.placed else np.full(members, -1)
    running = [i for i, node in enumerate(nodes1) if node >= 0]
    running += [len(batch) + k for k, node in enumerate(gang_nodes) if node >= 0]
    release = sorted(int(i) for i in rng.choice(running, size=int(rng.integers(0, len(running) + 1)), replace=False)) if running else []
    placer.release(np.array(release, dtype=np.int64))
    nodes2 = placer.place_batch(batch2)
    text = placer.explain(explain) or ""

    domains = _domain_ids(paths, levels)
    lines = [f"policy {policy}", f"seed {seed}", f"resources {R} {' '.join(resources)}", f"gpu_column {gpu_column}",
             f"levels {levels}", f"nodes {n}"]
    lines += [f"{_line(capacity[i])} {_line(domains[i])}".strip() for i in range(n)]
    lines += [f"batch {len(batch)}", *(_line(row) for row in batch)]
    lines += [f"gang {members} {strategy} {level} {required} {min_count}", *(_line(row) for row in gang)]
    lines += [f"release {len(release)} {' '.join(map(str, release))}".strip(), f"batch {len(batch2)}"]
    lines += [*(_line(row) for row in batch2), f"explain {_line(explain)}"]
    expected = [f"batch {_line(nodes1)}", f"gang {int(result.placed)} {_line(gang_nodes)}", f"released {len(release)}",
                f"batch {_line(nodes2)}", f"explain {text}".rstrip()]
    return Scenario("\n".join(lines) + "\n", expected)
