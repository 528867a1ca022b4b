"""Device topology: GPUs with memory and speed, the links between them, and GPU-set selection.

A :class:`Topology` holds every device of one node or of a whole cluster, in order (node by node),
with four ``n x n`` matrices: the link level of each pair (:class:`Level`), the number of NVLinks,
the per-direction bandwidth in bytes/s and the latency in seconds. It is built from the text of
``nvidia-smi topo -m`` (:meth:`Topology.from_nvidia_smi`), from NVML (:meth:`Topology.from_nvml`),
from JSON (:meth:`Topology.from_json`) or from presets (:func:`preset`, :func:`cluster`).

:func:`select_gpus` picks the GPU set for a task inside a node with the pairwise scores and
partition search of NVIDIA's go-gpuallocator best-effort policy.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from aios_core import _core
from aios_core.errors import ConfigError, NotFoundError, TopologyError, UnschedulableError

__all__ = ["GPU_SPECS", "PRESETS", "Device", "GpuSpec", "Level", "LinkSpeeds", "Selection", "Topology", "cluster",
           "gpu_spec", "parse_nvidia_smi", "preset", "select_gpus", "select_gpus_detail"]


class Level(IntEnum):
    """How two devices are connected, closest first (``nvidia-smi topo -m`` legend, then network).

    For pairs joined by NVLink the level records the PCIe path underneath, and ``nvlinks`` > 0.
    """

    SELF = 0
    BOARD = 1  # same board (dual-GPU cards, NVML_TOPOLOGY_INTERNAL)
    PIX = 2  # at most one PCIe bridge (same PCIe switch)
    PXB = 3  # several PCIe bridges, no host bridge
    PHB = 4  # through a PCIe host bridge (the CPU)
    NODE = 5  # between host bridges inside one NUMA node
    SYS = 6  # across the SMP interconnect between NUMA nodes
    NET = 7  # another node under the same leaf (rack) switch
    SPINE = 8  # another node under another leaf switch


# go-gpuallocator best-effort pair scores (besteffort_policy.go; notes §3.6).
_PCIE_SCORE = {Level.BOARD: 60, Level.PIX: 50, Level.PXB: 40, Level.PHB: 30, Level.NODE: 20, Level.SYS: 10}
NVLINK_SCORE = 100

_SMI_LEVEL = {"PIX": Level.PIX, "PXB": Level.PXB, "PHB": Level.PHB, "NODE": Level.NODE, "SYS": Level.SYS,
              "SOC": Level.SYS}
# NVML topology levels (nvmlDeviceGetTopologyCommonAncestor) -> Level.
_NVML_LEVEL = {0: Level.BOARD, 10: Level.PIX, 20: Level.PXB, 30: Level.PHB, 40: Level.NODE, 50: Level.SYS}


@dataclass(frozen=True)
class GpuSpec:
    """A GPU model: memory in bytes, dense 16-bit tensor TFLOP/s, bandwidths in bytes/s per direction."""

    model: str
    memory_bytes: int
    tflops: float
    nvlink_bandwidth: float = 25e9  # per NVLink (NVLink 2/3/4: 25 GB/s per direction)
    pcie_bandwidth: float = 32e9  # PCIe x16: Gen3 16, Gen4 32, Gen5 64 GB/s


GIB = 1 << 30
GPU_SPECS: dict[str, GpuSpec] = {
    s.model: s
    for s in (
        GpuSpec("V100-SXM2-32GB", 32 * GIB, 125.0, 25e9, 16e9),
        GpuSpec("A100-SXM4-80GB", 80 * GIB, 312.0, 25e9, 32e9),
        GpuSpec("H100-SXM5-80GB", 80 * GIB, 989.0, 25e9, 64e9),
        GpuSpec("L40S", 48 * GIB, 362.0, 25e9, 32e9),
        GpuSpec("A10", 24 * GIB, 125.0, 25e9, 32e9),
        GpuSpec("unknown", 0, 0.0, 25e9, 32e9),
    )
}


def gpu_spec(model: str | GpuSpec | None) -> GpuSpec:
    """The :class:`GpuSpec` for a model name: exact, else by family (``NVIDIA H100 80GB HBM3`` -> H100)."""
    if isinstance(model, GpuSpec):
        return model
    if model is None:
        return GPU_SPECS["unknown"]
    if model in GPU_SPECS:
        return GPU_SPECS[model]
    # NVML names read like "NVIDIA H100 80GB HBM3": match on the family token (H100, A100, ...).
    family = [w for w in model.upper().split() if w not in ("NVIDIA", "TESLA", "GEFORCE", "QUADRO")]
    key = family[0].split("-")[0] if family else ""
    for name, spec in GPU_SPECS.items():
        if key and name.upper().split("-")[0] == key:
            return spec
    raise NotFoundError(f"gpu: unknown GPU model {model!r}; known: {sorted(GPU_SPECS)} or pass a GpuSpec")


@dataclass(frozen=True)
class Device:
    """One GPU: its place (node, rack), model, memory and speed."""

    name: str
    model: str
    memory_bytes: int
    tflops: float
    node: int = 0
    rack: int = 0
    cpu_affinity: str = ""


@dataclass(frozen=True)
class LinkSpeeds:
    """Bandwidth (bytes/s per direction) and latency (s) by link level, for links other than NVLink.

    Cross-socket traffic is slower than a PCIe lane set (NCCL's QPI/UPI constants are 6-22 GB/s),
    so SYS gets its own figure.
    """

    sys_bandwidth: float = 10e9
    net_bandwidth: float = 50e9  # one 400 Gb/s NIC per GPU (DGX H100)
    spine_bandwidth: float = 25e9  # oversubscribed spine
    nvlink_latency: float = 2e-6
    pcie_latency: float = 5e-6
    sys_latency: float = 8e-6
    net_latency: float = 10e-6
    spine_latency: float = 15e-6


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class Topology:
    """Devices and the links between every pair. Matrices are ``n x n`` numpy arrays (read-only)."""

    devices: tuple[Device, ...]
    level: np.ndarray  # int8, Level values
    nvlinks: np.ndarray  # int32, NVLinks between the pair
    bandwidth: np.ndarray  # float64, bytes/s per direction
    latency: np.ndarray  # float64, seconds
    _scores: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        n = len(self.devices)
        if n == 0:
            raise TopologyError("devices: a topology needs at least one device")
        for name, dtype in (("level", np.int8), ("nvlinks", np.int32), ("bandwidth", np.float64),
                            ("latency", np.float64)):
            a = np.ascontiguousarray(getattr(self, name), dtype=dtype)
            if a.shape != (n, n):
                raise TopologyError(f"{name}: expected shape ({n}, {n}), got {a.shape}")
            object.__setattr__(self, name, _readonly(a))
        lv = self.level
        if np.any(np.diag(lv) != Level.SELF) or np.any((lv < 0) | (lv > Level.SPINE)):
            raise TopologyError("level: diagonal must be SELF and every entry a Level value")
        off = ~np.eye(n, dtype=bool)
        if np.any(lv[off] == Level.SELF):
            i, j = np.argwhere((lv == Level.SELF) & off)[0]
            raise TopologyError(f"level[{i}][{j}]: two distinct devices cannot be SELF")
        for name in ("level", "nvlinks", "bandwidth", "latency"):
            a = getattr(self, name)
            if not np.array_equal(a, a.T):
                i, j = np.argwhere(a != a.T)[0]
                raise TopologyError(f"{name}: not symmetric at [{i}][{j}] ({a[i, j]} vs {a[j, i]})")
        if np.any(self.nvlinks < 0):
            raise TopologyError("nvlinks: counts must be >= 0")
        bw = self.bandwidth[off]
        if not np.all(np.isfinite(bw) & (bw > 0)):
            i, j = np.argwhere(off & ~(np.isfinite(self.bandwidth) & (self.bandwidth > 0)))[0]
            raise TopologyError(f"bandwidth[{i}][{j}]: every pair of devices needs a finite bandwidth > 0 "
                                "(a disconnected graph cannot be planned on)")
        if not np.all(np.isfinite(self.latency)) or np.any(self.latency < 0):
            raise TopologyError("latency: must be finite and >= 0")
        for i, d in enumerate(self.devices):
            if d.memory_bytes < 0 or not np.isfinite(d.tflops) or d.tflops < 0:
                raise TopologyError(f"devices[{i}] ({d.name}): memory_bytes and tflops must be >= 0, got "
                                    f"{d.memory_bytes}, {d.tflops}")

    # ---------------------------------------------------------------- views
    @property
    def size(self) -> int:
        return len(self.devices)

    @property
    def node_count(self) -> int:
        return len({d.node for d in self.devices})

    def node(self, index: int) -> Topology:
        """The sub-topology of one node (devices whose ``node`` equals ``index``)."""
        idx = [i for i, d in enumerate(self.devices) if d.node == index]
        if not idx:
            raise NotFoundError(f"node: no device on node {index}")
        return self.subset(idx)

    def subset(self, indices: Sequence[int]) -> Topology:
        ix = np.asarray(list(indices), dtype=np.int64)
        g = np.ix_(ix, ix)
        return Topology(tuple(self.devices[i] for i in ix), self.level[g].copy(), self.nvlinks[g].copy(),
                        self.bandwidth[g].copy(), self.latency[g].copy())

    def pair_scores(self) -> np.ndarray:
        """go-gpuallocator pair scores (int64 ``n x n``): PCIe proximity + 100 per NVLink; 0 across nodes."""
        if self._scores is None:
            pcie = np.zeros(Level.SPINE + 1, dtype=np.int64)
            for lv, sc in _PCIE_SCORE.items():
                pcie[lv] = sc
            s = pcie[self.level] + NVLINK_SCORE * self.nvlinks.astype(np.int64)
            np.fill_diagonal(s, 0)
            object.__setattr__(self, "_scores", _readonly(s))
        assert self._scores is not None
        return self._scores

    def __repr__(self) -> str:
        models = sorted({d.model for d in self.devices})
        return f"Topology({self.size} devices on {self.node_count} node(s), models={models})"

    # ---------------------------------------------------------------- builders
    @classmethod
    def from_matrix(cls, level: np.ndarray, nvlinks: np.ndarray, gpu: str | GpuSpec | None = None, *,
                    names: Sequence[str] | None = None, cpu_affinity: Sequence[str] | None = None,
                    speeds: LinkSpeeds = LinkSpeeds(), node: int = 0, rack: int = 0) -> Topology:
        """One node from its level and NVLink-count matrices; bandwidth and latency follow the GPU model."""
        spec = gpu_spec(gpu)
        level = np.asarray(level, dtype=np.int8)
        nvlinks = np.asarray(nvlinks, dtype=np.int32)
        n = level.shape[0]
        names = list(names) if names is not None else [f"GPU{i}" for i in range(n)]
        aff = list(cpu_affinity) if cpu_affinity is not None else [""] * n
        bw = np.where(level <= Level.NODE, spec.pcie_bandwidth, speeds.sys_bandwidth).astype(np.float64)
        lat = np.where(level <= Level.NODE, speeds.pcie_latency, speeds.sys_latency).astype(np.float64)
        nv = nvlinks > 0
        bw = np.where(nv, nvlinks * spec.nvlink_bandwidth, bw)
        lat = np.where(nv, speeds.nvlink_latency, lat)
        np.fill_diagonal(bw, 0.0)
        np.fill_diagonal(lat, 0.0)
        devs = tuple(Device(names[i], spec.model, spec.memory_bytes, spec.tflops, node, rack, aff[i]) for i in range(n))
        return cls(devs, level, nvlinks, bw, lat)

    @classmethod
    def from_nvidia_smi(cls, text: str, gpu: str | GpuSpec | None = None, *,
                        speeds: LinkSpeeds = LinkSpeeds()) -> Topology:
        """Parse the output of ``nvidia-smi topo -m`` (tab- or space-separated, any driver's columns).

        NIC rows and columns are dropped. For an ``NV#`` pair the PCIe path is not printed; it is
        taken as NODE when both GPUs share a CPU affinity and SYS otherwise. ``gpu`` names the
        model (memory, speed and link bandwidths; see :data:`GPU_SPECS`).
        """
        level, nvlinks, names, affinity = parse_nvidia_smi(text)
        return cls.from_matrix(level, nvlinks, gpu, names=names, cpu_affinity=affinity, speeds=speeds)

    @classmethod
    def from_nvml(cls, nvml: Any = None, *, speeds: LinkSpeeds = LinkSpeeds()) -> Topology:
        """Discover the local node through NVML (``pip install aios-core[nvml]``).

        ``nvml`` is the ``pynvml`` module or any object with the same functions (tests pass a fake).
        """
        if nvml is None:
            try:
                import pynvml as nvml  # type: ignore[import-not-found,import-untyped,no-redef,unused-ignore]
            except ImportError as e:  # pragma: no cover - depends on the environment
                raise TopologyError("nvml: the nvidia-ml-py package is missing (pip install aios-core[nvml])") from e
        from aios_core._topology_nvml import read_nvml

        topo: Topology = read_nvml(cls, nvml, speeds)
        return topo

    # ---------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        return {
            "devices": [dict(name=d.name, model=d.model, memory_bytes=d.memory_bytes, tflops=d.tflops, node=d.node,
                             rack=d.rack, cpu_affinity=d.cpu_affinity) for d in self.devices],
            "level": [[Level(int(v)).name for v in row] for row in self.level],
            "nvlinks": self.nvlinks.tolist(),
            "bandwidth": self.bandwidth.tolist(),
            "latency": self.latency.tolist(),
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, data: str | Mapping[str, Any]) -> Topology:
        """Inverse of :meth:`to_json` (a JSON string or the already-parsed mapping)."""
        try:
            obj = json.loads(data) if isinstance(data, str) else data
        except json.JSONDecodeError as e:
            raise TopologyError(f"json: not valid JSON ({e})") from e
        if not isinstance(obj, Mapping):
            raise TopologyError("json: expected an object with devices, level, nvlinks, bandwidth, latency")
        for key in ("devices", "level", "nvlinks", "bandwidth", "latency"):
            if key not in obj:
                raise TopologyError(f"json: missing field {key!r}")
        devs = []
        for i, d in enumerate(obj["devices"]):
            try:
                devs.append(Device(str(d["name"]), str(d.get("model", "unknown")), int(d["memory_bytes"]),
                                   float(d["tflops"]), int(d.get("node", 0)), int(d.get("rack", 0)),
                                   str(d.get("cpu_affinity", ""))))
            except (KeyError, TypeError, ValueError) as e:
                raise TopologyError(f"json: devices[{i}] is malformed ({e!r})") from e
        try:
            level = np.array([[Level[v] if isinstance(v, str) else Level(v) for v in row] for row in obj["level"]],
                             dtype=np.int8)
            arrays = [np.array(obj[k], dtype=t) for k, t in (("nvlinks", np.int32), ("bandwidth", np.float64),
                                                              ("latency", np.float64))]
        except (KeyError, ValueError, TypeError) as e:
            raise TopologyError(f"json: link matrices are malformed ({e!r})") from e
        return cls(tuple(devs), level, *arrays)


# -------------------------------------------------------------------- nvidia-smi text
_CELL = re.compile(r"^(X|NV(\d+)|PIX|PXB|PHB|NODE|SYS|SOC)$")


def parse_nvidia_smi(text: str) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """``nvidia-smi topo -m`` text -> (level int8, nvlinks int32, GPU names, CPU affinity per GPU).

    Raises :class:`TopologyError` naming the line and the cell for anything it cannot read.
    """
    if not isinstance(text, str):
        raise TopologyError(f"nvidia-smi: expected the text as str, got {type(text).__name__}")
    lines = text.splitlines()
    # The header starts with GPU0 and, unlike GPU0's own row, has no "X" cell.
    header_at = next((i for i, ln in enumerate(lines) if ln.split()[:1] == ["GPU0"] and "X" not in ln.split()), None)
    if header_at is None:
        raise TopologyError("nvidia-smi: no header line starting with GPU0 (is this `nvidia-smi topo -m` output?)")
    columns: list[str] = []
    for tok in lines[header_at].split():
        if tok in ("CPU", "NUMA", "GPU"):  # multi-word trailing headers: CPU Affinity, NUMA Affinity, GPU NUMA ID
            break
        columns.append(tok)
    gpu_cols = [c for c in columns if re.fullmatch(r"GPU\d+", c)]
    if not gpu_cols or gpu_cols != [f"GPU{i}" for i in range(len(gpu_cols))]:
        raise TopologyError(f"nvidia-smi: header GPU columns must be GPU0..GPUn-1 in order, got {gpu_cols}")
    n = len(gpu_cols)
    level = np.zeros((n, n), dtype=np.int8)
    nvlinks = np.zeros((n, n), dtype=np.int32)
    affinity = [""] * n
    seen = [False] * n
    for ln_no in range(header_at + 1, len(lines)):
        toks = lines[ln_no].split()
        if not toks:
            continue
        if toks[0].startswith("Legend") or toks[0] == "NIC":
            break
        m = re.fullmatch(r"GPU(\d+)", toks[0])
        if m is None:
            continue  # NIC rows (mlx5_0, NIC0, ...)
        i = int(m.group(1))
        if i >= n:
            raise TopologyError(f"nvidia-smi line {ln_no + 1}: row {toks[0]} has no matching column")
        if seen[i]:
            raise TopologyError(f"nvidia-smi line {ln_no + 1}: row {toks[0]} appears twice")
        if len(toks) < 1 + len(columns):
            raise TopologyError(f"nvidia-smi line {ln_no + 1}: row {toks[0]} has {len(toks) - 1} cells, "
                                f"expected {len(columns)}")
        seen[i] = True
        cells = toks[1:1 + len(columns)]
        rest = toks[1 + len(columns):]
        affinity[i] = rest[0] if rest else ""
        for col, cell in zip(columns, cells):
            cm = re.fullmatch(r"GPU(\d+)", col)
            if cm is None:
                continue
            j = int(cm.group(1))
            mm = _CELL.match(cell)
            if mm is None:
                raise TopologyError(f"nvidia-smi line {ln_no + 1}: cell {toks[0]}/{col} = {cell!r} is not one of "
                                    "X, NV#, PIX, PXB, PHB, NODE, SYS")
            if (cell == "X") != (i == j):
                raise TopologyError(f"nvidia-smi line {ln_no + 1}: cell {toks[0]}/{col} = {cell!r}; X must be "
                                    "exactly the diagonal")
            if cell == "X":
                level[i, j] = Level.SELF
            elif mm.group(2) is not None:
                links = int(mm.group(2))
                if links <= 0:
                    raise TopologyError(f"nvidia-smi line {ln_no + 1}: cell {toks[0]}/{col} = {cell!r} has no links")
                nvlinks[i, j] = links
                level[i, j] = -1  # filled from CPU affinity below
            else:
                level[i, j] = _SMI_LEVEL[cell]
    missing = [f"GPU{i}" for i in range(n) if not seen[i]]
    if missing:
        raise TopologyError(f"nvidia-smi: rows missing for {missing}")
    for i in range(n):
        for j in range(n):
            if level[i, j] == -1:
                level[i, j] = Level.NODE if affinity[i] and affinity[i] == affinity[j] else Level.SYS
    if not np.array_equal(level, level.T) or not np.array_equal(nvlinks, nvlinks.T):
        i, j = np.argwhere((level != level.T) | (nvlinks != nvlinks.T))[0]
        raise TopologyError(f"nvidia-smi: matrix not symmetric at GPU{i}/GPU{j}")
    return level, nvlinks, [f"GPU{i}" for i in range(n)], affinity


# -------------------------------------------------------------------- presets
def _dgx1_matrix() -> tuple[np.ndarray, np.ndarray, list[str]]:
    # Hybrid cube-mesh of DGX-1 (the DLPerf sample): NV1/NV2 inside each quad, NV2/NV1 across.
    nv = np.zeros((8, 8), dtype=np.int32)
    for i, j, k in ((0, 1, 1), (0, 2, 1), (0, 3, 2), (0, 4, 2), (1, 2, 2), (1, 3, 1), (1, 5, 2), (2, 3, 2), (2, 6, 1),
                    (3, 7, 1), (4, 5, 1), (4, 6, 1), (4, 7, 2), (5, 6, 2), (5, 7, 1), (6, 7, 2)):
        nv[i, j] = nv[j, i] = k
    level = np.full((8, 8), Level.SYS, dtype=np.int8)
    for q in (range(0, 4), range(4, 8)):
        for i in q:
            for j in q:
                level[i, j] = Level.NODE
    for a, b in ((0, 1), (2, 3), (4, 5), (6, 7)):
        level[a, b] = level[b, a] = Level.PIX
    np.fill_diagonal(level, Level.SELF)
    aff = ["0-19,40-59"] * 4 + ["20-39,60-79"] * 4
    return level, nv, aff


def _switch_matrix(n: int, links: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    nv = np.full((n, n), links, dtype=np.int32)
    np.fill_diagonal(nv, 0)
    half = n // 2
    level = np.full((n, n), Level.SYS, dtype=np.int8)
    level[:half, :half] = Level.NODE
    level[half:, half:] = Level.NODE
    np.fill_diagonal(level, Level.SELF)
    return level, nv, ["0"] * half + ["1"] * (n - half)


def _pcie_matrix(n: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    # Two GPUs per PCIe switch, switches of one socket under one host bridge; 8 GPUs span 2 sockets.
    level = np.full((n, n), Level.SYS, dtype=np.int8)
    per_socket = n if n <= 4 else n // 2
    for i in range(n):
        for j in range(n):
            if i // per_socket == j // per_socket:
                level[i, j] = Level.PIX if i // 2 == j // 2 else Level.PHB
    np.fill_diagonal(level, Level.SELF)
    return level, np.zeros((n, n), dtype=np.int32), [str(i // per_socket) for i in range(n)]


PRESETS: dict[str, tuple[str, Any]] = {
    "dgx1-v100": ("V100-SXM2-32GB", _dgx1_matrix),
    "dgx-a100": ("A100-SXM4-80GB", lambda: _switch_matrix(8, 12)),
    "dgx-h100": ("H100-SXM5-80GB", lambda: _switch_matrix(8, 18)),
    "pcie-4gpu": ("L40S", lambda: _pcie_matrix(4)),
    "pcie-8gpu": ("L40S", lambda: _pcie_matrix(8)),
}


def preset(name: str, *, gpu: str | GpuSpec | None = None, speeds: LinkSpeeds = LinkSpeeds()) -> Topology:
    """One node of a known machine: ``dgx1-v100``, ``dgx-a100``, ``dgx-h100``, ``pcie-4gpu``, ``pcie-8gpu``."""
    if name not in PRESETS:
        raise NotFoundError(f"preset: unknown machine {name!r}; known: {sorted(PRESETS)}")
    model, build = PRESETS[name]
    level, nv, aff = build()
    return Topology.from_matrix(level, nv, gpu if gpu is not None else model, cpu_affinity=aff, speeds=speeds)


def cluster(node: Topology | str | Sequence[Topology | str], nodes: int | None = None, *, nodes_per_rack: int = 32,
            speeds: LinkSpeeds = LinkSpeeds()) -> Topology:
    """Nodes joined by a leaf/spine network: ``cluster("dgx-h100", 128)`` or a list of (mixed) nodes.

    Devices keep their order node by node; pairs on different nodes get level NET (same rack, i.e.
    the same leaf switch) or SPINE, with the bandwidth and latency of ``speeds``.
    """
    if isinstance(node, (Topology, str)):
        if nodes is None or nodes < 1:
            raise ConfigError(f"nodes: must be >= 1, got {nodes}")
        parts = [node] * nodes
    else:
        parts = list(node)
        if not parts:
            raise ConfigError("node: expected at least one node")
    if nodes_per_rack < 1:
        raise ConfigError(f"nodes_per_rack: must be >= 1, got {nodes_per_rack}")
    tops = [preset(p, speeds=speeds) if isinstance(p, str) else p for p in parts]
    sizes = [t.size for t in tops]
    n = sum(sizes)
    owner = np.repeat(np.arange(len(tops)), sizes)
    rack = owner // nodes_per_rack
    same_rack = rack[:, None] == rack[None, :]
    level = np.where(same_rack, Level.NET, Level.SPINE).astype(np.int8)
    bw = np.where(same_rack, speeds.net_bandwidth, speeds.spine_bandwidth)
    lat = np.where(same_rack, speeds.net_latency, speeds.spine_latency)
    nv = np.zeros((n, n), dtype=np.int32)
    devs: list[Device] = []
    start = 0
    for k, t in enumerate(tops):
        sl = slice(start, start + t.size)
        level[sl, sl] = t.level
        nv[sl, sl] = t.nvlinks
        bw[sl, sl] = t.bandwidth
        lat[sl, sl] = t.latency
        devs.extend(Device(f"node{k}/{d.name}", d.model, d.memory_bytes, d.tflops, k, k // nodes_per_rack,
                           d.cpu_affinity) for d in t.devices)
        start += t.size
    return Topology(tuple(devs), level, nv, bw, lat)


# -------------------------------------------------------------------- GPU-set selection
@dataclass(frozen=True)
class Selection:
    """The chosen GPUs (device indices of the topology, in the order offered), with the search facts."""

    gpus: tuple[int, ...]
    set_score: int
    partition_score: int
    exact: bool
    nodes_visited: int


def _index_list(values: Iterable[int] | None, n: int, field_name: str) -> list[int]:
    if values is None:
        return []
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ConfigError(f"{field_name}: GPU indices must be integers, got {v!r}")
        if not 0 <= int(v) < n:
            raise ConfigError(f"{field_name}: GPU index {int(v)} out of range [0, {n})")
        out.append(int(v))
    if len(set(out)) != len(out):
        raise ConfigError(f"{field_name}: repeated GPU index in {out}")
    return out


def select_gpus(node_topology: Topology, count: int, available: Iterable[int] | None = None,
                required: Iterable[int] | None = None, *, max_nodes: int | None = 250_000) -> tuple[int, ...]:
    """The GPU set for a task inside one node, as go-gpuallocator's best-effort policy picks it.

    ``available`` (default: every GPU, in index order) and ``required`` are device indices. Returns
    the chosen indices in the order of ``available``. The search is exact unless it visits more than
    ``max_nodes`` search nodes (``None``: no limit); see :func:`select_gpus_detail` for the facts.
    Raises :class:`ConfigError` for bad arguments and :class:`UnschedulableError` if no set exists.
    """
    return select_gpus_detail(node_topology, count, available, required, max_nodes=max_nodes).gpus


def select_gpus_detail(node_topology: Topology, count: int, available: Iterable[int] | None = None,
                       required: Iterable[int] | None = None, *, max_nodes: int | None = 250_000) -> Selection:
    """Like :func:`select_gpus`, returning a :class:`Selection` (scores, exactness, nodes visited)."""
    if not isinstance(node_topology, Topology):
        raise ConfigError(f"node_topology: expected a Topology, got {type(node_topology).__name__}")
    if node_topology.node_count != 1:
        raise ConfigError(f"node_topology: select_gpus works inside one node, got {node_topology.node_count} "
                          "nodes (use topology.node(i))")
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ConfigError(f"count: must be an integer >= 1, got {count!r}")
    n = node_topology.size
    avail = list(range(n)) if available is None else _index_list(available, n, "available")
    req = _index_list(required, n, "required")
    missing = [r for r in req if r not in avail]
    if missing:
        raise ConfigError(f"required: GPUs {missing} are not in available {avail}")
    if len(avail) < count:
        raise UnschedulableError(f"count: {count} GPUs requested but only {len(avail)} available")
    if len(req) > count:
        raise ConfigError(f"required: {len(req)} GPUs required but count is {count}")
    full = node_topology.pair_scores()
    score = full if available is None else np.ascontiguousarray(full[np.ix_(avail, avail)])
    pos = {g: i for i, g in enumerate(avail)}
    req_pos = np.array([pos[r] for r in req], dtype=np.int32)
    budget = 0 if max_nodes is None else int(max_nodes)
    if max_nodes is not None and budget < 1:
        raise ConfigError(f"max_nodes: must be >= 1 or None, got {max_nodes}")
    gpus, set_score, part_score, exact, visited = _core.select_best_effort(score, req_pos, int(count), budget)
    if len(gpus) == 0:
        raise UnschedulableError(f"count: no set of {count} GPUs holds the required GPUs {req}")
    return Selection(tuple(avail[p] for p in gpus.tolist()), int(set_score), int(part_score), bool(exact), int(visited))
