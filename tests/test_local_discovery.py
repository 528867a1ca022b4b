"""Local executor: GPU discovery through a fake NVML, a fake nvidia-smi, files, and the real
NVML where a driver is present."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from aios_core.errors import ConfigError, TopologyError
from aios_core.local.discovery import discover, from_file

from local_daemon import DATA, dgx1_topology as dgx1

GIB = 1 << 30


class FakeError(Exception):
    pass


class TwoGpuNvml:
    """pynvml-like: two A100s joined by 12 NVLinks, on one PCIe host bridge."""

    NVMLError = FakeError
    NVML_NVLINK_MAX_LINKS = 12

    def nvmlInit(self):
        pass

    def nvmlShutdown(self):
        pass

    def nvmlDeviceGetCount(self):
        return 2

    def nvmlDeviceGetHandleByIndex(self, i):
        return i

    def nvmlDeviceGetPciInfo(self, h):
        return SimpleNamespace(busId=f"00000000:{0x10 + h:02X}:00.0")

    def nvmlDeviceGetName(self, h):
        return "NVIDIA A100-SXM4-80GB"

    def nvmlDeviceGetMemoryInfo(self, h):
        return SimpleNamespace(total=80 * GIB)

    def nvmlDeviceGetTopologyCommonAncestor(self, a, b):
        return 30

    def nvmlDeviceGetNvLinkState(self, h, link):
        return 1

    def nvmlDeviceGetNvLinkRemoteDeviceType(self, h, link):
        return 0

    def nvmlDeviceGetNvLinkRemotePciInfo(self, h, link):
        return SimpleNamespace(busId=f"0000:{0x10 + (1 - h):02x}:00.0")


class NoDriverNvml(TwoGpuNvml):
    def nvmlInit(self):
        raise FakeError("NVML Shared Library Not Found")


def test_discover_through_nvml():
    topo = discover(nvml=TwoGpuNvml())
    assert topo.size == 2 and int(topo.nvlinks[0, 1]) == 12
    assert topo.devices[1].memory_bytes == 80 * GIB and topo.devices[1].model == "NVIDIA A100-SXM4-80GB"


SMI_TOPO = "\tGPU0\tGPU1\tCPU Affinity\nGPU0\t X \tNV4\t0-7\nGPU1\tNV4\t X \t0-7\n"


def test_discover_falls_back_to_nvidia_smi_then_explains():
    calls = []

    def run(argv):
        calls.append(list(argv))
        return SMI_TOPO if argv[1] == "topo" else "NVIDIA L40S, 46068\nNVIDIA L40S, 46068\n"

    topo = discover(nvml=NoDriverNvml(), run=run)
    assert calls[0] == ["nvidia-smi", "topo", "-m"]
    assert topo.size == 2 and int(topo.nvlinks[0, 1]) == 4 and topo.devices[0].memory_bytes == 46068 << 20

    def broken(argv):
        raise TopologyError("nvidia-smi: could not run nvidia-smi (not found)")

    with pytest.raises(TopologyError, match="NVML Shared Library Not Found.*nvidia-smi.*topology file"):
        discover(nvml=NoDriverNvml(), run=broken)


def test_topology_file_text_or_json(tmp_path):
    topo = from_file(DATA / "topo_dgx1_v100.txt", "V100-SXM2-32GB")
    assert topo.size == 8 and topo.devices[0].memory_bytes == 32 * GIB
    (tmp_path / "t.json").write_text(topo.to_json())
    again = from_file(tmp_path / "t.json")
    assert json.loads(again.to_json()) == json.loads(topo.to_json())
    with pytest.raises(ConfigError, match="topology: cannot read"):
        from_file(tmp_path / "missing.txt")


def test_real_nvml_discovery():
    """On a machine with an NVIDIA driver: NVML's view matches the device count it reports."""
    pynvml = pytest.importorskip("pynvml", reason="nvidia-ml-py is not installed")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as e:
        pytest.skip(f"no NVIDIA driver or GPU here ({e})")
    count = pynvml.nvmlDeviceGetCount()
    pynvml.nvmlShutdown()
    topo = discover()
    assert topo.size == count and all(d.memory_bytes > 0 for d in topo.devices)


def test_cli_gpus_shows_the_discovered_topology():
    testing = pytest.importorskip("typer.testing", reason="the cli extra is not installed")
    from aios_core.cli.app import app

    result = testing.CliRunner().invoke(app, ["local", "gpus", "--json", "--topology", str(DATA / "topo_dgx1_v100.txt"),
                                              "--gpu-model", "V100-SXM2-32GB"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout[result.stdout.index("{"):])
    assert shown["nvlinks"] == dgx1().nvlinks.tolist() and len(shown["devices"]) == 8
