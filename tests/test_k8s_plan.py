"""`aios k8s plan`: offline decisions from `kubectl get ... -o json` snapshots, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("kubernetes", reason="the k8s extra is not installed")
typer_testing = pytest.importorskip("typer.testing", reason="the cli extra is not installed")

from aios_core.errors import ConfigError  # noqa: E402
from aios_core.k8s.convert import Options  # noqa: E402
from aios_core.k8s.plan import plan  # noqa: E402
from k8s_objects import GPU_PRODUCTS, node, pod, snapshot  # noqa: E402

RACK = "example.com/rack"


def cluster() -> dict[str, object]:
    return snapshot(
        node("n1", gpus=8, labels={RACK: "r1"}), node("n2", gpus=8, labels={RACK: "r1"}),
        node("n3", gpus=4, product=GPU_PRODUCTS[1], labels={RACK: "r2"}),
        pod("running", gpus=4, node_name="n1", phase="Running"),
        pod("a", gpus=4, scheduler="aios"), pod("b", gpus=8, scheduler="aios"),
        pod("c", gpus=8, scheduler="aios"), pod("other", gpus=1),
    )


def test_plan_places_pending_pods_of_the_named_scheduler() -> None:
    result = plan([cluster()], "aios")
    assert result["nodes"] == 3 and result["pending"] == 3
    assert result["bound"] == {"default/a": "n1", "default/b": "n2"}  # best fit: a fills n1's free half
    assert result["failed"] == {"default/c": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."}


def test_plan_gang_with_preferred_topology_and_priority_classes() -> None:
    pg = {"apiVersion": "scheduling.x-k8s.io/v1alpha1", "kind": "PodGroup",
          "metadata": {"name": "g", "namespace": "default"}, "spec": {"minMember": 2}}
    pc = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "hi"}, "value": 10}
    members = [pod(f"m{i}", gpus=4, scheduler="aios", labels={"scheduling.x-k8s.io/pod-group": "g"},
                   annotations={"kueue.x-k8s.io/podset-preferred-topology": RACK}, priority_class="hi") for i in range(2)]
    doc = snapshot(node("n1", gpus=8, labels={RACK: "r1"}), node("n2", gpus=4, labels={RACK: "r2"}),
                   node("n3", gpus=4, labels={RACK: "r2"}), pod("solo", gpus=4, scheduler="aios"), *members)
    result = plan([doc, snapshot(pg, pc)], "aios", Options(topology_labels=(RACK,)))
    assert result["bound"]["default/m0"] == result["bound"]["default/m1"] == "n1"  # one rack, one node
    assert result["bound"]["default/solo"] in ("n2", "n3")


def test_same_input_same_answer() -> None:
    pods = [pod(f"p{i}", gpus=1 + i % 3, scheduler="aios") for i in range(12)]
    doc = snapshot(*[node(f"n{i}", gpus=8) for i in range(4)], *pods)
    assert plan([doc], seed=3) == plan([doc], seed=3)


@pytest.mark.parametrize(("doc", "match"), [
    ({"kind": "List", "items": [{"kind": "Service", "metadata": {"name": "x"}}]}, "unexpected kind"),
    ({"kind": "List", "items": "nope"}, r"snapshot\[0\].items"),
    ({"kind": "List", "items": [{"metadata": {"name": "x"}}]}, "has no 'kind'"),
    (snapshot(node("n1", cpu="many")), "node 'n1'.status.allocatable"),
])
def test_bad_snapshots_name_the_problem(doc: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        plan([doc])


def test_cli_plan(tmp_path: Path) -> None:
    from aios_core.cli.app import app

    path = tmp_path / "snap.json"
    path.write_text(json.dumps(cluster()))
    runner = typer_testing.CliRunner()
    result = runner.invoke(app, ["k8s", "plan", "--snapshot", str(path), "--json"])
    assert result.exit_code == 1  # one pod could not be placed
    out = json.loads(result.stdout)
    assert out["bound"] == {"default/a": "n1", "default/b": "n2"}
    bad = tmp_path / "bad.json"
    bad.write_text("{oops")
    result = runner.invoke(app, ["k8s", "plan", "--snapshot", str(bad)])
    assert result.exit_code == 2 and "invalid JSON" in result.output
    result = runner.invoke(app, ["k8s", "plan", "--snapshot", str(path), "--policy", "nope"])
    assert result.exit_code == 2 and "unknown policy 'nope'" in result.output


def test_sample_scheduler_configuration_matches_the_server() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML comes with the kubernetes client")
    text = (Path(__file__).parent.parent / "docs" / "k8s.md").read_text()
    block = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    cfg = yaml.safe_load(block)
    assert cfg["apiVersion"] == "kubescheduler.config.k8s.io/v1" and cfg["kind"] == "KubeSchedulerConfiguration"
    ext = cfg["extenders"][0]
    assert ext["urlPrefix"].startswith("http://127.0.0.1:8888/aios")
    assert {ext[k] for k in ("filterVerb", "prioritizeVerb", "bindVerb", "preemptVerb")} == {"filter", "prioritize", "bind", "preempt"}
    assert ext["nodeCacheCapable"] is True and ext["weight"] > 0
    assert {"name": "nvidia.com/gpu", "ignoredByScheduler": False} in ext["managedResources"]
