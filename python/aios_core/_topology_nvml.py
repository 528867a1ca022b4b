"""NVML (nvidia-ml-py) -> Topology. Kept apart so `aios_core.topology` never imports pynvml eagerly."""

from __future__ import annotations

from typing import Any

import numpy as np

from aios_core.errors import TopologyError

_NVLINK_DEVICE_SWITCH = 2


def _bus(bus_id: Any) -> str:
    # NVML writes 00000000:3B:00.0, sysfs 0000:3b:00.0: compare on the last 12 characters, lower case.
    s = bus_id.decode() if isinstance(bus_id, bytes) else str(bus_id)
    return s.lower()[-12:]


def read_nvml(cls: Any, nvml: Any, speeds: Any) -> Any:  # cls is Topology (no import cycle at load)
    """Build a Topology from an NVML module (or a fake with the same functions)."""
    from aios_core.errors import NotFoundError
    from aios_core.topology import _NVML_LEVEL, GPU_SPECS, GpuSpec, Level
    from aios_core.topology import gpu_spec as lookup

    def gpu_spec(name: str | None) -> GpuSpec:
        try:
            return lookup(name)
        except NotFoundError:  # an unlisted model: memory from NVML, speed unknown (0)
            return GPU_SPECS["unknown"]

    err = getattr(nvml, "NVMLError", Exception)
    try:
        nvml.nvmlInit()
    except err as e:
        raise TopologyError(f"nvml: initialisation failed ({e})") from e
    try:
        n = int(nvml.nvmlDeviceGetCount())
        if n < 1:
            raise TopologyError("nvml: no GPU found")
        handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(n)]
        buses = [_bus(nvml.nvmlDeviceGetPciInfo(h).busId) for h in handles]
        names = [str(nvml.nvmlDeviceGetName(h)) for h in handles]
        memory = [int(nvml.nvmlDeviceGetMemoryInfo(h).total) for h in handles]
        level = np.zeros((n, n), dtype=np.int8)
        for i in range(n):
            for j in range(i + 1, n):
                raw = int(nvml.nvmlDeviceGetTopologyCommonAncestor(handles[i], handles[j]))
                if raw not in _NVML_LEVEL:
                    raise TopologyError(f"nvml: unknown topology level {raw} between GPU{i} and GPU{j}")
                level[i, j] = level[j, i] = _NVML_LEVEL[raw]
        max_links = int(getattr(nvml, "NVML_NVLINK_MAX_LINKS", 18))
        nv = np.zeros((n, n), dtype=np.int32)
        switch_links = np.zeros(n, dtype=np.int32)
        index_of = {b: i for i, b in enumerate(buses)}
        for i, h in enumerate(handles):
            for link in range(max_links):
                try:
                    if int(nvml.nvmlDeviceGetNvLinkState(h, link)) != 1:
                        continue
                    kind = int(nvml.nvmlDeviceGetNvLinkRemoteDeviceType(h, link))
                    if kind == _NVLINK_DEVICE_SWITCH:
                        switch_links[i] += 1
                        continue
                    peer = index_of.get(_bus(nvml.nvmlDeviceGetNvLinkRemotePciInfo(h, link).busId))
                except err:
                    continue  # link not supported / not present
                if peer is not None and peer != i:
                    nv[i, peer] += 1
        # NVSwitch: every GPU on the switch reaches every other with its own link count (the smaller).
        on_switch = np.flatnonzero(switch_links > 0)
        for a in on_switch:
            for b in on_switch:
                if a != b:
                    nv[a, b] = max(nv[a, b], min(switch_links[a], switch_links[b]))
        if not np.array_equal(nv, nv.T):
            nv = np.minimum(nv, nv.T)  # a link seen from one end only is not usable both ways
        base = gpu_spec(names[0]) if names else gpu_spec(None)
        spec = GpuSpec(names[0], memory[0], base.tflops, base.nvlink_bandwidth, base.pcie_bandwidth)
        np.fill_diagonal(level, Level.SELF)
        topo = cls.from_matrix(level, nv, spec, names=[f"GPU{i}" for i in range(n)], speeds=speeds)
        from aios_core.topology import Device

        devs = tuple(Device(d.name, names[i], memory[i], gpu_spec(names[i]).tflops, 0, 0, buses[i])
                     for i, d in enumerate(topo.devices))
        return cls(devs, topo.level, topo.nvlinks, topo.bandwidth, topo.latency)
    finally:
        try:
            nvml.nvmlShutdown()
        except err:
            pass
