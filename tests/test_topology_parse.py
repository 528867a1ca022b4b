"""Topology builders: real nvidia-smi samples, malformed text, presets, clusters, JSON, NVML (fake)."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from aios_core import topology as T
from aios_core.errors import NotFoundError, TopologyError

DATA = Path(__file__).parent / "data"


def sample(name):
    return (DATA / name).read_text()


def test_dgx1_sample_parses_asymmetric_cube_mesh():
    t = T.Topology.from_nvidia_smi(sample("topo_dgx1_v100.txt"), "V100-SXM2-32GB")
    assert t.size == 8  # the mlx5_0 NIC row and column are dropped
    assert t.nvlinks[0, 4] == 2 and t.nvlinks[0, 5] == 0 and t.nvlinks[0, 1] == 1
    assert t.level[0, 5] == T.Level.SYS
    # NV pairs get their PCIe path from CPU affinity: 0 and 3 share 0-11,24-35, 0 and 4 do not.
    assert t.level[0, 3] == T.Level.NODE and t.level[0, 4] == T.Level.SYS
    assert t.devices[0].cpu_affinity == "0-11,24-35"
    assert t.bandwidth[0, 3] == 2 * 25e9 and t.bandwidth[0, 5] == T.LinkSpeeds().sys_bandwidth


@pytest.mark.parametrize("name,links", [("topo_p4d_a100.txt", 12), ("topo_h100_sxm.txt", 18)])
def test_nvswitch_samples_are_all_to_all(name, links):
    t = T.Topology.from_nvidia_smi(sample(name))
    off = ~np.eye(8, dtype=bool)
    assert np.all(t.nvlinks[off] == links)
    assert t.level[0, 3] == T.Level.NODE and t.level[0, 4] == T.Level.SYS  # two NUMA halves


def test_pcie_sample_with_trailing_numa_columns():
    t = T.Topology.from_nvidia_smi(sample("topo_g6e_l40s.txt"), "L40S")
    assert t.size == 4 and np.all(t.nvlinks == 0)
    assert np.all(t.level[~np.eye(4, dtype=bool)] == T.Level.NODE)
    assert t.devices[2].memory_bytes == 48 * 2**30


def test_tab_separated_text_parses_the_same():
    text = sample("topo_dgx1_v100.txt")
    tabbed = "\n".join("\t".join(line.split("  ")) for line in text.splitlines())
    a, b = T.Topology.from_nvidia_smi(text), T.Topology.from_nvidia_smi(tabbed)
    assert np.array_equal(a.level, b.level) and np.array_equal(a.nvlinks, b.nvlinks)


@pytest.mark.parametrize(
    "mutate,needle",
    [
        (lambda s: s.replace("GPU0    GPU1", "GPUx    GPU1", 1), "GPU0"),
        (lambda s: s.replace("NV2     SYS     SYS     SYS     NODE", "NV2     FOO     SYS     SYS     NODE", 1), "FOO"),
        (lambda s: s.replace("\nGPU3 ", "\nGPU9 ", 1), "GPU9"),
        (lambda s: "\n".join(l for l in s.splitlines() if not l.startswith("GPU5")), "GPU5"),
        (lambda s: s.replace("GPU1    NV1      X", "GPU1    NV3      X", 1), "symmetric"),
        (lambda s: s.replace("GPU2    NV1     NV2      X", "GPU2    NV1     NV2     SYS", 1), "X must"),
        (lambda s: "random words", "GPU0"),
        (lambda s: s.replace("NV1", "NV0", 1), "no links"),
    ],
)
def test_malformed_nvidia_smi_text(mutate, needle):
    with pytest.raises(TopologyError, match=needle):
        T.Topology.from_nvidia_smi(mutate(sample("topo_dgx1_v100.txt")))


def test_truncated_row_is_reported():
    lines = sample("topo_g6e_l40s.txt").splitlines()
    lines[2] = "GPU1    NODE     X"
    with pytest.raises(TopologyError, match="GPU1 has 2 cells"):
        T.Topology.from_nvidia_smi("\n".join(lines))


def test_presets_and_unknown_names():
    for name in T.PRESETS:
        t = T.preset(name)
        assert t.node_count == 1 and t.devices[0].tflops > 0 and t.devices[0].memory_bytes > 0
    with pytest.raises(NotFoundError, match="dgx-z900"):
        T.preset("dgx-z900")
    with pytest.raises(NotFoundError, match="gpu"):
        T.gpu_spec("Z9000")
    assert T.gpu_spec("NVIDIA H100 80GB HBM3").model == "H100-SXM5-80GB"


def test_dgx1_preset_matches_the_published_sample():
    smi = T.Topology.from_nvidia_smi(sample("topo_dgx1_v100.txt"))
    assert np.array_equal(T.preset("dgx1-v100").nvlinks, smi.nvlinks)


def test_cluster_hierarchy():
    c = T.cluster("dgx-h100", 6, nodes_per_rack=4)
    assert c.size == 48 and c.node_count == 6
    assert c.level[0, 1] == T.Level.SYS or c.level[0, 1] == T.Level.NODE
    assert c.level[0, 8] == T.Level.NET and c.level[0, 40] == T.Level.SPINE
    assert c.bandwidth[0, 8] > c.bandwidth[0, 40]
    assert c.devices[40].rack == 1 and c.devices[40].node == 5
    assert np.array_equal(c.node(2).nvlinks, T.preset("dgx-h100").nvlinks)
    mixed = T.cluster(["dgx-a100", "dgx-h100"])
    assert {d.model for d in mixed.devices} == {"A100-SXM4-80GB", "H100-SXM5-80GB"}


def test_json_round_trip_and_errors():
    c = T.cluster(["dgx1-v100", "pcie-4gpu"])
    back = T.Topology.from_json(c.to_json())
    assert back.devices == c.devices
    for f in ("level", "nvlinks", "bandwidth", "latency"):
        assert np.array_equal(getattr(back, f), getattr(c, f))
    with pytest.raises(TopologyError, match="JSON"):
        T.Topology.from_json("{nope")
    with pytest.raises(TopologyError, match="latency"):
        d = c.to_dict()
        del d["latency"]
        T.Topology.from_json(d)
    with pytest.raises(TopologyError, match="devices\\[0\\]"):
        d = c.to_dict()
        del d["devices"][0]["memory_bytes"]
        T.Topology.from_json(d)
    with pytest.raises(TopologyError, match="shape"):
        d = c.to_dict()
        d["nvlinks"] = d["nvlinks"][:-1]
        T.Topology.from_json(d)


class FakeNVMLError(Exception):
    pass


class FakeNVML:
    """A pynvml-like object fed from an nvidia-smi matrix: NVLinks to peers or to an NVSwitch."""

    NVMLError = FakeNVMLError
    NVML_NVLINK_MAX_LINKS = 18

    def __init__(self, level, nvlinks, switch_links=0, name="NVIDIA H100 80GB HBM3"):
        self.level, self.nv, self.switch, self.name = level, nvlinks, switch_links, name
        self.n = len(level)
        self.calls = []
        # Per GPU, the list of link endpoints: a peer index or "switch".
        self.links = []
        for i in range(self.n):
            ends = ["switch"] * switch_links if switch_links else []
            for j in range(self.n):
                ends += [j] * int(nvlinks[i][j]) if not switch_links else []
            self.links.append(ends)

    def nvmlInit(self):
        self.calls.append("init")

    def nvmlShutdown(self):
        self.calls.append("shutdown")

    def nvmlDeviceGetCount(self):
        return self.n

    def nvmlDeviceGetHandleByIndex(self, i):
        return i

    def nvmlDeviceGetPciInfo(self, h):
        return SimpleNamespace(busId=f"00000000:{h + 0x10:02X}:00.0")

    def nvmlDeviceGetName(self, h):
        return self.name

    def nvmlDeviceGetMemoryInfo(self, h):
        return SimpleNamespace(total=80 * 2**30, free=80 * 2**30, used=0)

    def nvmlDeviceGetTopologyCommonAncestor(self, a, b):
        inv = {T.Level.BOARD: 0, T.Level.PIX: 10, T.Level.PXB: 20, T.Level.PHB: 30, T.Level.NODE: 40, T.Level.SYS: 50}
        return inv[T.Level(int(self.level[a][b]))]

    def nvmlDeviceGetNvLinkState(self, h, link):
        if link >= len(self.links[h]):
            raise FakeNVMLError("not supported")
        return 1

    def nvmlDeviceGetNvLinkRemoteDeviceType(self, h, link):
        return 2 if self.links[h][link] == "switch" else 0

    def nvmlDeviceGetNvLinkRemotePciInfo(self, h, link):
        return SimpleNamespace(busId=f"0000:{self.links[h][link] + 0x10:02x}:00.0")  # sysfs-style id


def test_nvml_peer_links_match_nvidia_smi():
    smi = T.Topology.from_nvidia_smi(sample("topo_dgx1_v100.txt"), "V100-SXM2-32GB")
    fake = FakeNVML(smi.level, smi.nvlinks, name="Tesla V100-SXM2-32GB")
    t = T.Topology.from_nvml(fake)
    assert np.array_equal(t.nvlinks, smi.nvlinks) and np.array_equal(t.level, smi.level)
    assert t.devices[0].model == "Tesla V100-SXM2-32GB" and t.devices[0].tflops == 125.0
    assert fake.calls == ["init", "shutdown"]
    assert T.select_gpus(t, 4) == T.select_gpus(smi, 4)


def test_nvml_nvswitch_is_all_to_all():
    smi = T.Topology.from_nvidia_smi(sample("topo_h100_sxm.txt"))
    t = T.Topology.from_nvml(FakeNVML(smi.level, smi.nvlinks, switch_links=18))
    assert np.array_equal(t.nvlinks, smi.nvlinks)
    assert t.devices[3].memory_bytes == 80 * 2**30


def test_nvml_init_failure_is_a_topology_error():
    fake = FakeNVML(np.zeros((1, 1)), np.zeros((1, 1)))

    def boom():
        raise FakeNVMLError("driver not loaded")

    fake.nvmlInit = boom
    with pytest.raises(TopologyError, match="driver not loaded"):
        T.Topology.from_nvml(fake)


def test_nvml_live_gpu():
    pynvml = pytest.importorskip("pynvml")
    try:
        pynvml.nvmlInit()
        pynvml.nvmlShutdown()
    except pynvml.NVMLError:
        pytest.skip("no NVIDIA driver")
    t = T.Topology.from_nvml()
    assert t.size >= 1 and all(d.memory_bytes > 0 for d in t.devices)
    assert len(T.select_gpus(t, 1)) == 1


def test_new_driver_layout_with_nic_columns_and_nic_legend():
    # Synthetic, in the layout of recent drivers: tab-separated, NIC columns and rows, GPU NUMA ID,
    # then a "NIC Legend" block after the GPU legend.
    text = (
        "\tGPU0\tGPU1\tNIC0\tNIC1\tCPU Affinity\tNUMA Affinity\tGPU NUMA ID\n"
        "GPU0\t X \tNV18\tPXB\tSYS\t0-51\t0\t\tN/A\n"
        "GPU1\tNV18\t X \tSYS\tPXB\t52-103\t1\t\tN/A\n"
        "NIC0\tPXB\tSYS\t X \tSYS\n"
        "NIC1\tSYS\tPXB\tSYS\t X \n\n"
        "Legend:\n\n  X    = Self\n  NV#  = Connection traversing a bonded set of # NVLinks\n\n"
        "NIC Legend:\n\n  NIC0: mlx5_0\n  NIC1: mlx5_1\n"
    )
    t = T.Topology.from_nvidia_smi(text, "H100-SXM5-80GB")
    assert t.size == 2 and t.nvlinks[0, 1] == 18 and t.level[0, 1] == T.Level.SYS
    assert [d.cpu_affinity for d in t.devices] == ["0-51", "52-103"]


def test_fake_nvml_speaks_the_real_pynvml_api():
    pynvml = pytest.importorskip("pynvml")
    used = [n for n in dir(FakeNVML) if n.startswith("nvml") or n.startswith("NVML")]
    assert used and all(hasattr(pynvml, n) for n in used)
