"""The machine's GPUs for the local executor: from a topology file, from NVML, or from nvidia-smi.

A topology file is either ``nvidia-smi topo -m`` text or aios-core topology JSON; it is how a
machine without GPUs (and the test suite) runs the daemon. NVML discovery
(:meth:`Topology.from_nvml`) reads count, model, memory, NVLink peers and common-ancestor levels.
Without NVML, ``nvidia-smi topo -m`` plus ``nvidia-smi --query-gpu=name,memory.total`` give the
same facts. Commands run as argument lists.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any, Callable, Sequence

from aios_core.errors import ConfigError, TopologyError
from aios_core.topology import GPU_SPECS, Device, GpuSpec, Topology, gpu_spec

Runner = Callable[[Sequence[str]], str]
MIB = 1 << 20


def run_command(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise TopologyError(f"nvidia-smi: could not run {argv[0]} ({e})") from e
    if done.returncode != 0:
        raise TopologyError(f"nvidia-smi: {' '.join(argv)} failed with {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def _spec(model: str | None) -> GpuSpec | None:
    return None if model is None else gpu_spec(model)


def from_file(path: str | Path, gpu_model: str | None = None) -> Topology:
    """nvidia-smi text (``gpu_model`` names the GPUs' memory) or topology JSON."""
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ConfigError(f"topology: cannot read {str(path)!r} ({e})") from e
    if text.lstrip().startswith("{"):
        topo = Topology.from_json(text)
        return topo if topo.node_count == 1 else topo.node(topo.devices[0].node)
    return Topology.from_nvidia_smi(text, _spec(gpu_model))


def from_nvidia_smi_command(run: Runner = run_command) -> Topology:
    """Run ``nvidia-smi topo -m`` and ``--query-gpu`` for links, models and memory sizes."""
    topo = Topology.from_nvidia_smi(run(["nvidia-smi", "topo", "-m"]))
    rows = [ln for ln in run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader,nounits"])
            .splitlines() if ln.strip()]
    if len(rows) != topo.size:
        raise TopologyError(f"nvidia-smi: topo lists {topo.size} GPUs but --query-gpu lists {len(rows)}")
    devices = []
    for d, row in zip(topo.devices, rows):
        name, _, mem = row.rpartition(",")
        try:
            memory = int(mem.strip()) * MIB
        except ValueError:
            raise TopologyError(f"nvidia-smi: memory.total {mem.strip()!r} is not a number of MiB") from None
        tflops = _tflops(name.strip())
        devices.append(Device(d.name, name.strip(), memory, tflops, d.node, d.rack, d.cpu_affinity))
    return Topology(tuple(devices), topo.level, topo.nvlinks, topo.bandwidth, topo.latency)


def _tflops(model: str) -> float:
    try:
        return gpu_spec(model).tflops
    except ConfigError:
        return GPU_SPECS["unknown"].tflops


def discover(topology_file: str | Path | None = None, gpu_model: str | None = None, nvml: Any = None,
             run: Runner = run_command) -> Topology:
    """The topology file if given; else NVML; else the nvidia-smi command. Says why each failed."""
    if topology_file is not None:
        return from_file(topology_file, gpu_model)
    try:
        return Topology.from_nvml(nvml)
    except TopologyError as nvml_error:
        try:
            return from_nvidia_smi_command(run)
        except TopologyError as smi_error:
            raise TopologyError(f"gpus: no GPU found through NVML ({nvml_error}) nor nvidia-smi ({smi_error}); "
                                "pass a topology file") from smi_error
