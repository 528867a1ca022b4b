"""Placement scenarios in the text format of examples/README.md (random ones, or read from text)
and the Python API's answer on them (aios_core.Placer), line for line as the C and Go examples
print it."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from aios_core import POLICIES, Cluster, Placer

STRATEGIES = ("PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD")
RESOURCE_SETS = (("cpu", "memory", "nvidia.com/gpu"), ("cpu", "memory"), ("cpu", "memory", "pods", "nvidia.com/gpu"))
CAPACITY = {"cpu": [4000, 8000, 16000, 32000], "memory": [2**33, 2**34, 2**35], "pods": [2, 4, 110],
            "nvidia.com/gpu": [0, 4000, 8000]}
REQUEST = {"cpu": [0, 500, 1000, 2000, 4000, 8000], "memory": [2**28, 2**30, 2**32, 2**33], "pods": [1],
           "nvidia.com/gpu": [0, 0, 250, 500, 1000, 2000, 4000]}


@dataclass(frozen=True)
class Scenario:
    policy: str
    seed: int
    resources: tuple[str, ...]
    gpu_column: int
    capacity: np.ndarray  # [nodes, resources]
    domains: np.ndarray  # [nodes, levels], ids numbered in first-seen order per level
    batch: np.ndarray  # [tasks, resources]; ids 0 ..
    gang: np.ndarray  # [members, resources]; ids continue
    strategy: int
    level: int
    required: int
    min_count: int
    release: tuple[int, ...]
    batch2: np.ndarray  # ids continue after the gang
    explain: np.ndarray  # [resources]
    preempt_priority: int
    preempt_evict: int
    preempt: np.ndarray  # [resources]: one task asking for room (often a whole node's capacity)

    def text(self) -> str:
        """The programs' input."""
        def row(values: np.ndarray) -> str:
            return " ".join(str(int(v)) for v in values)

        lines = [f"policy {self.policy}", f"seed {self.seed}", f"resources {len(self.resources)} {' '.join(self.resources)}",
                 f"gpu_column {self.gpu_column}", f"levels {self.domains.shape[1]}", f"nodes {len(self.capacity)}"]
        lines += [f"{row(c)} {row(d)}".strip() for c, d in zip(self.capacity, self.domains)]
        lines += [f"batch {len(self.batch)}", *(row(r) for r in self.batch)]
        lines += [f"gang {len(self.gang)} {self.strategy} {self.level} {self.required} {self.min_count}"]
        lines += [*(row(r) for r in self.gang), f"release {len(self.release)} {' '.join(map(str, self.release))}".strip()]
        lines += [f"batch {len(self.batch2)}", *(row(r) for r in self.batch2), f"explain {row(self.explain)}"]
        lines += [f"preempt {self.preempt_priority} {self.preempt_evict} {row(self.preempt)}"]
        return "\n".join(lines) + "\n"


def parse(text: str) -> Scenario:
    words = iter(text.split())

    def word(expected: str) -> None:
        got = next(words)
        assert got == expected, f"expected {expected!r}, got {got!r}"

    def ints(count: int) -> list[int]:
        return [int(next(words)) for _ in range(count)]

    word("policy"); policy = next(words)
    word("seed"); seed = int(next(words))
    word("resources"); resources = tuple(next(words) for _ in range(int(next(words))))
    R = len(resources)
    word("gpu_column"); gpu_column = int(next(words))
    word("levels"); levels = int(next(words))
    word("nodes"); n = int(next(words))
    rows = [ints(R + levels) for _ in range(n)]
    capacity = np.array([r[:R] for r in rows], dtype=np.int64).reshape(n, R)
    domains = np.array([r[R:] for r in rows], dtype=np.int32).reshape(n, levels)

    def tasks() -> np.ndarray:
        m = int(next(words))
        return np.array([ints(R) for _ in range(m)], dtype=np.int64).reshape(m, R)

    word("batch"); batch = tasks()
    word("gang"); members = int(next(words)); strategy, level, required, min_count = ints(4)
    gang = np.array([ints(R) for _ in range(members)], dtype=np.int64).reshape(members, R)
    word("release"); release = tuple(ints(int(next(words))))
    word("batch"); batch2 = tasks()
    word("explain"); explain = np.array(ints(R), dtype=np.int64)
    word("preempt"); preempt_priority, preempt_evict = ints(2); preempt = np.array(ints(R), dtype=np.int64)
    return Scenario(policy, seed, resources, gpu_column, capacity, domains, batch, gang, strategy, level, required,
                    min_count, release, batch2, explain, preempt_priority, preempt_evict, preempt)


def python_answer(s: Scenario) -> list[str]:
    """What Placer answers, as the examples print it."""
    levels = s.domains.shape[1]
    paths = [[f"l{level}-{int(d)}" for level, d in enumerate(row)] for row in s.domains]
    cluster = Cluster.from_arrays(s.capacity, s.resources, topology=paths if levels else None)
    placer = Placer(cluster, s.policy, seed=s.seed)
    nodes1 = placer.place_batch(s.batch)
    level_name = f"level{s.level}" if s.level >= 0 else None
    gang = placer.place_gang(
        s.gang, min_count=s.min_count or None, strategy=STRATEGIES[s.strategy],  # type: ignore[arg-type]
        topology_required=level_name if s.required else None, topology_preferred=None if s.required else level_name,
    )
    gang_nodes = gang.nodes if gang.placed else np.full(len(s.gang), -1)
    placer.release(np.array(s.release, dtype=np.int64))
    nodes2 = placer.place_batch(s.batch2)
    text = placer.explain(s.explain) or ""
    found = placer.preempt(s.preempt[None, :], s.preempt_priority, evict=bool(s.preempt_evict))

    def row(values: np.ndarray) -> str:
        return " ".join(str(int(v)) for v in values)

    return [f"batch {row(nodes1)}", f"gang {int(gang.placed)} {row(gang_nodes)}", f"released {len(s.release)}",
            f"batch {row(nodes2)}", f"explain {text}".rstrip(),
            f"preempt {found.node} {row(found.victims)}".rstrip() if found else "preempt -1"]


def _rows(rng: np.random.Generator, table: dict[str, list[int]], resources: tuple[str, ...], count: int) -> np.ndarray:
    return np.array([[int(rng.choice(table[r])) for r in resources] for _ in range(count)],
                    dtype=np.int64).reshape(count, len(resources))


def random_scenario(rng: np.random.Generator) -> Scenario:
    """A random cluster and workload; the release picks tasks that are running by then."""
    resources = RESOURCE_SETS[int(rng.integers(len(RESOURCE_SETS)))]
    n, levels = int(rng.integers(1, 9)), int(rng.integers(0, 3))
    zones = rng.integers(2, size=n)
    racks = rng.integers(3, size=n)
    keys = [[(int(z),), (int(z), int(r))][:levels] for z, r in zip(zones, racks)]
    capacity = _rows(rng, CAPACITY, resources, n)
    domains = np.zeros((n, levels), dtype=np.int32)
    for level in range(levels):  # first-seen numbering, as Placer numbers topology domains
        ids: dict[tuple[int, ...], int] = {}
        for i in range(n):
            domains[i, level] = ids.setdefault(keys[i][level], len(ids))
    members = int(rng.integers(1, 5))
    level = int(rng.integers(-1, levels)) if levels else -1
    s = Scenario(
        policy=str(rng.choice([p for p in POLICIES if p != "fgd"])),
        seed=int(rng.integers(0, 2**63)),
        resources=resources,
        gpu_column=resources.index("nvidia.com/gpu") if "nvidia.com/gpu" in resources else -1,
        capacity=capacity,
        domains=domains,
        batch=_rows(rng, REQUEST, resources, int(rng.integers(1, 13))),
        gang=_rows(rng, REQUEST, resources, members),
        strategy=int(rng.integers(4)),
        level=level,
        required=int(level >= 0 and bool(rng.integers(2))),
        min_count=int(rng.integers(0, members + 1)),
        release=(),
        batch2=_rows(rng, REQUEST, resources, int(rng.integers(1, 7))),
        explain=_rows(rng, REQUEST, resources, 1)[0],
        preempt_priority=int(rng.choice([0, 1, 1, 1])),
        preempt_evict=int(rng.integers(0, 2)),
        preempt=capacity[int(rng.integers(n))] if rng.integers(2) else _rows(rng, REQUEST, resources, 1)[0],
    )
    # Running tasks after the gang, read from the Python answer without a release.
    first = python_answer(s)
    running = [i for i, node in enumerate(first[0].split()[1:]) if node != "-1"]
    running += [len(s.batch) + k for k, node in enumerate(first[1].split()[2:]) if node != "-1"]
    chosen = rng.choice(running, size=int(rng.integers(0, len(running) + 1)), replace=False) if running else []
    return replace(s, release=tuple(sorted(int(i) for i in chosen)))
