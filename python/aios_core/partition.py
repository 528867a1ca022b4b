"""Model partitioning: the exact chain split, layer graphs and the topology-aware pipeline planner.

``split(costs, k)`` cuts a chain of layer costs into k contiguous stages with the smallest possible
bottleneck (DeepSpeed's ``partition_balanced`` and torchgpipe's block partition are heuristics).
``LayerGraph`` and its builders describe a model; ``plan`` places it on a :class:`Topology`.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np

from aios_core import _core
from aios_core._partition_import import from_onnx, from_torch
from aios_core._partition_layers import PRESETS as TRANSFORMER_PRESETS
from aios_core._partition_layers import LayerGraph, TransformerConfig, transformer
from aios_core.errors import ConfigError, UnschedulableError
from aios_core.topology import Topology

__all__ = ["LayerGraph", "Plan", "Split", "Stage", "TRANSFORMER_PRESETS", "TransformerConfig", "from_onnx",
           "from_torch", "plan", "plan_arrays", "split", "transformer"]


def _float_vector(values: object, name: str) -> np.ndarray:
    try:
        a = np.asarray(values)
    except Exception as e:  # ragged lists and the like
        raise ConfigError(f"{name}: cannot be read as a 1-D numeric array ({e})") from e
    if a.ndim != 1:
        raise ConfigError(f"{name}: expected a 1-D array, got shape {a.shape}")
    if a.dtype == np.bool_ or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise ConfigError(f"{name}: expected integer or float values, got dtype {a.dtype}")
    return np.ascontiguousarray(a, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class Split:
    """An optimal split: stage s owns layers ``boundaries[s]:boundaries[s+1]``."""

    bottleneck: float
    boundaries: np.ndarray  # int64, k + 1 entries
    stage_costs: np.ndarray  # float64, k entries

    @property
    def stages(self) -> list[range]:
        b = self.boundaries.tolist()
        return [range(b[i], b[i + 1]) for i in range(len(b) - 1)]


def split(costs: object, k: int) -> Split:
    """Exact minimum-bottleneck split of a chain of layer costs into ``k`` non-empty contiguous stages.

    ``costs``: 1-D array of finite values >= 0 (any int or float dtype; computed in float64).
    Among optimal splits the one returned gives each stage, left to right, as many layers as fit
    under the bottleneck. Time O(n k log n).
    """
    c = _float_vector(costs, "costs")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ConfigError(f"k: expected an integer, got {k!r}")
    bottleneck, bounds = _core.split_chain(c, int(k))
    bounds.setflags(write=False)
    stage = np.add.reduceat(c, bounds[:-1]) if len(c) else np.zeros(0)
    stage.setflags(write=False)
    return Split(float(bottleneck), bounds, stage)


# ---------------------------------------------------------------------------- planner


@dataclass(frozen=True)
class Stage:
    """One pipeline stage: its layers, its devices (topology indices, replica-major: d rows of t
    tensor-parallel ranks), its time per micro-batch and the memory it needs on each device."""

    index: int
    layers: range
    layer_names: tuple[str, ...]
    devices: tuple[int, ...]
    time: float
    memory_bytes: int
    device_memory_bytes: int


@dataclass(frozen=True)
class Plan:
    """A pipeline plan: p stages, each on t x d devices; estimated iteration time in seconds
    (sum of stage times + (B - 1) x slowest stage, Alpa's 1F1B objective)."""

    pipeline: int
    tensor: int
    data: int
    microbatches: int
    iteration_time: float
    stages: tuple[Stage, ...]
    configs_searched: int
    dp_passes: int
    placement: tuple[int, ...] = ()  # device order: stage s runs on placement[s*t*d:(s+1)*t*d]
    placements_searched: int = 0
    exact: bool = True  # False when a configuration that could win had too many placements to enumerate

    @property
    def boundaries(self) -> tuple[int, ...]:
        return tuple(s.layers.start for s in self.stages) + (self.stages[-1].layers.stop,)

    def table(self) -> str:
        """The plan as a fixed-width text table."""
        head = (f"pipeline={self.pipeline} tensor={self.tensor} data={self.data} microbatches={self.microbatches} "
                f"iteration={self.iteration_time * 1e3:.3f} ms{'' if self.exact else ' (placement search bounded)'}")
        rows = [f"{'stage':>5}  {'layers':<22}{'devices':<18}{'time/mb (ms)':>13}  {'memory/device (GiB)':>20}"]
        for s in self.stages:
            names = f"{s.layer_names[0]}..{s.layer_names[-1]}" if len(s.layer_names) > 1 else s.layer_names[0]
            devs = _ranges(s.devices)
            mem = f"{s.memory_bytes / 2**30:.2f} / {s.device_memory_bytes / 2**30:.2f}"
            rows.append(f"{s.index:>5}  {names:<22}{devs:<18}{s.time * 1e3:>13.3f}  {mem:>20}")
        return "\n".join([head, *rows])

    def __str__(self) -> str:
        return self.table()


def _ranges(devices: tuple[int, ...]) -> str:
    """Device indices as compact runs: (0, 1, 2, 3, 8, 9) -> '0-3,8-9'."""
    out: list[str] = []
    start = prev = devices[0]
    for x in (*devices[1:], None):
        if x is not None and x == prev + 1:
            prev = x
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if x is not None:
            start = prev = x
    return ",".join(out)


def _int_arg(name: str, v: object, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
        raise ConfigError(f"{name}: must be an integer >= {lo}, got {v!r}")
    return int(v)


def plan_arrays(model: LayerGraph, devices: Topology) -> tuple[np.ndarray, ...]:
    """The device columns the native planner takes: speed (FLOP/s), memory, bandwidth, latency."""
    speed = np.array([d.tflops * 1e12 for d in devices.devices], dtype=np.float64)
    memory = np.array([d.memory_bytes for d in devices.devices], dtype=np.int64)
    return speed, memory, devices.bandwidth, devices.latency


# Speed and memory columns per topology (validated: every device runs layers), built once.
_DEVICE_ARRAYS: weakref.WeakKeyDictionary[Topology, tuple[np.ndarray, ...]] = weakref.WeakKeyDictionary()

# Candidate device orders per topology (an O(n^2) pass over its bandwidths; topologies are immutable).
_ORDERS: weakref.WeakKeyDictionary[Topology, tuple[np.ndarray, float]] = weakref.WeakKeyDictionary()


def _candidate_orders(devices: Topology, arrays: tuple[np.ndarray, ...] | None = None) -> tuple[np.ndarray, float]:
    got = _ORDERS.get(devices)
    if got is None:
        speed, memory, bw, lat = arrays if arrays is not None else plan_arrays(LayerGraph.chain([0.0]), devices)
        orders, max_bw = _core.candidate_orders(speed, memory, bw, lat)
        orders.setflags(write=False)
        got = _ORDERS[devices] = (orders, float(max_bw))
    return got


def plan(model: LayerGraph, devices: Topology, microbatches: int, *, max_tensor_parallel: int = 8,
         pipeline: int | None = None, tensor: int | None = None, state_bytes_per_param: int = 16,
         grad_bytes_per_param: int = 2, backward_factor: float = 2.0, max_placements: int = 50_000) -> Plan:
    """The fastest pipeline x tensor x data-parallel plan of ``model`` on all of ``devices``.

    Search space (see csrc/partition/plan.hpp): degrees with p*t*d = devices; device placements
    (which devices form each tensor-parallel row of t, which d rows form each stage, the order of the
    stages); every contiguous split of the layers. A configuration with at most ``max_placements``
    distinct placements (n! / (t!^(n/t) d!^p); every configuration of <= 8 devices by default) is
    searched exactly; larger ones try the stage blocks of four device orders (topology order, a
    chain along the fastest links, a speed-first chain that keeps each stage on one GPU model, and
    that chain reversed) and
    ``Plan.exact`` is False if such a configuration could have won. Never worse than the topology
    order's placement. Per micro-batch a stage costs compute (1 + backward_factor) x FLOPs / (t d x
    slowest device), a ring all-reduce of its tp_comm_bytes / d at the slowest link inside a row,
    sending its output (forward) and gradient (backward) at the slowest link to the next stage's
    devices, and its gradient all-reduce across the d replicas (slowest link between two rows)
    spread over the B micro-batches. Memory per
    device: params/t x state_bytes_per_param + min(B, p - s) in-flight micro-batches of its
    activations / (t d) (1F1B). Raises :class:`UnschedulableError` naming the layer and the missing
    bytes when no plan fits memory, :class:`ConfigError` for bad input (zero-speed devices, ...),
    :class:`TopologyError` for a disconnected device graph.
    """
    if not isinstance(model, LayerGraph):
        raise ConfigError(f"model: expected a LayerGraph, got {type(model).__name__}")
    if not isinstance(devices, Topology):
        raise ConfigError(f"devices: expected a Topology, got {type(devices).__name__}")
    B = _int_arg("microbatches", microbatches, 1)
    max_tp = _int_arg("max_tensor_parallel", max_tensor_parallel, 1)
    fixed_p = 0 if pipeline is None else _int_arg("pipeline", pipeline, 1)
    fixed_t = 0 if tensor is None else _int_arg("tensor", tensor, 1)
    state = _int_arg("state_bytes_per_param", state_bytes_per_param, 0)
    grad = _int_arg("grad_bytes_per_param", grad_bytes_per_param, 0)
    limit = _int_arg("max_placements", max_placements, 0)
    if not np.isfinite(backward_factor) or backward_factor < 0:
        raise ConfigError(f"backward_factor: must be finite and >= 0, got {backward_factor}")
    arrays = _DEVICE_ARRAYS.get(devices)
    if arrays is None:
        for i, dev in enumerate(devices.devices):
            if not dev.tflops > 0:
                raise ConfigError(f"devices[{i}] ({dev.name}): tflops must be > 0 to run layers, got {dev.tflops}")
        arrays = plan_arrays(model, devices)
        for a in arrays[:2]:
            a.setflags(write=False)
        _DEVICE_ARRAYS[devices] = arrays
    speed, memory, bw, lat = arrays
    orders, max_bw = _candidate_orders(devices, arrays)  # the first plan on a topology computes them
    out = _core.plan_pipeline(model.flops, model.params, model.activation_bytes, model.output_bytes,
                              model.tp_comm_bytes, speed, memory, bw, lat, B, grad, state, max_tp,
                              float(backward_factor), fixed_p, fixed_t, limit, orders, max_bw)
    feasible, p, t, d, T, bounds, stage_time, stage_mem, configs, passes, order, searched, exact = out
    if not feasible:
        raise UnschedulableError(_why_nothing_fits(model, devices, state, max_tp, fixed_t))
    g = t * d
    stages = []
    order = np.asarray(order, dtype=np.int64)
    order_list = order.tolist()  # Python ints
    held = memory[order].reshape(p, g).min(axis=1).tolist() if p * g else []
    for s in range(p):
        devs = tuple(order_list[s * g:(s + 1) * g])
        lay = range(int(bounds[s]), int(bounds[s + 1]))
        stages.append(Stage(s, lay, model.names[lay.start:lay.stop], devs, float(stage_time[s]), int(stage_mem[s]),
                            int(held[s])))
    return Plan(int(p), int(t), int(d), B, float(T), tuple(stages), int(configs), int(passes),
                tuple(order_list), int(searched), bool(exact))


def _why_nothing_fits(model: LayerGraph, devices: Topology, state: int, max_tp: int, fixed_t: int) -> str:
    # The least any layer can need on one device: alone, split over the widest tensor-parallel group
    # and every replica, one micro-batch in flight (last stage).
    n = devices.size
    t = 1
    while t * 2 <= min(max_tp, n) and n % (t * 2) == 0:
        t *= 2
    if fixed_t:
        t = fixed_t
    need = -(-model.params // t) * state + -(-model.activation_bytes // n)
    cap = max(d.memory_bytes for d in devices.devices)
    worst = int(np.argmax(need))
    if need[worst] > cap:
        return (f"model: layer {worst} ({model.names[worst]!r}) needs at least {int(need[worst])} bytes per device "
                f"(tensor-parallel {t}), the largest device holds {cap}: {int(need[worst]) - cap} bytes missing")
    total = int(-(-model.params.sum() // 1) * state)
    held = sum(d.memory_bytes for d in devices.devices)
    missing = max(total - held, 0)
    return (f"model: no split of the {len(model)} layers onto {n} devices fits memory with the activations 1F1B "
            f"keeps in flight; model state alone is {total} bytes against {held} bytes of device memory"
            + (f" ({missing} bytes missing)" if missing else "; the largest layer is "
               f"{model.names[int(np.argmax(model.params))]!r}"))
