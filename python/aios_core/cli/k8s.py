"""`aios k8s`: the Kubernetes scheduler extender, the secondary scheduler and the offline planner."""

from __future__ import annotations

import json
import logging
import signal
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from aios_core.cli._common import EXIT_FAILED, bad_input, console, print_json, read_text
from aios_core.cluster import DEFAULT_GPU_RESOURCE
from aios_core.errors import AiosError, ConfigError
from aios_core.placer import POLICIES

k8s_app = typer.Typer(add_completion=False, no_args_is_help=True,
                      help="Kubernetes: scheduler extender, secondary scheduler, offline plan (needs the k8s extra).")

PolicyOpt = Annotated[str, typer.Option(help=f"Placement policy: {', '.join(POLICIES)}.")]
TopologyOpt = Annotated[str, typer.Option(help="Node labels of the topology levels, coarse to fine, comma-separated "
                                          "(the levels Kueue topology annotations may name).")]
GpuOpt = Annotated[str, typer.Option(help="The device-plugin GPU resource.")]
ResourcesOpt = Annotated[str, typer.Option(help="Resources the model tracks, comma-separated.")]


def _options(resources: str, gpu_resource: str, topology_labels: str) -> Any:
    from aios_core.k8s.convert import Options

    res = tuple(r.strip() for r in resources.split(",") if r.strip())
    if gpu_resource not in res:
        res += (gpu_resource,)
    levels = tuple(t.strip() for t in topology_labels.split(",") if t.strip())
    return Options(resources=res, gpu_resource=gpu_resource, topology_labels=levels)


def _require() -> None:
    from aios_core.k8s import require

    try:
        require()
    except ImportError as exc:
        bad_input(str(exc))


def _read_json(path: Path) -> Any:
    text = read_text(path, "snapshot")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None


def _logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


@k8s_app.command("extender")
def extender_cmd(
    snapshot: Annotated[list[Path] | None, typer.Option(help="Node cache from `kubectl get nodes,pods -o json` file(s) instead of a watch.")] = None,
    kubeconfig: Annotated[str | None, typer.Option(help="Watch the API with this kubeconfig (default ~/.kube/config).")] = None,
    in_cluster: Annotated[bool, typer.Option(help="Watch the API with the pod's service account.")] = False,
    server: Annotated[str | None, typer.Option(help="Watch an API server URL without credentials (testing).")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on; loopback unless told otherwise.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0 = any free port).")] = 8888,
    prefix: Annotated[str, typer.Option(help="URL prefix, the path of urlPrefix in KubeSchedulerConfiguration.")] = "/aios",
    node_cache: Annotated[bool, typer.Option(help="nodeCacheCapable mode (requests carry node names only).")] = True,
    policy: PolicyOpt = "best_fit",
    seed: Annotated[int, typer.Option(help="Seed of the tie-breaking.")] = 0,
    resources: ResourcesOpt = "cpu,memory,pods",
    gpu_resource: GpuOpt = DEFAULT_GPU_RESOURCE,
    topology_labels: TopologyOpt = "",
    body_limit: Annotated[int, typer.Option(help="Largest request body in bytes.")] = 16 << 20,
    read_timeout: Annotated[float, typer.Option(help="Seconds to receive a request body.")] = 5.0,
    tls_cert: Annotated[str | None, typer.Option(help="Serve HTTPS with this certificate (PEM).")] = None,
    tls_key: Annotated[str | None, typer.Option(help="Private key of --tls-cert (PEM).")] = None,
    port_file: Annotated[Path | None, typer.Option(help="Write the bound port here once listening.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Serve kube-scheduler's extender verbs (filter, prioritize, preempt, bind) at PREFIX."""
    _require()
    _logging(verbose)
    from aios_core.k8s.connect import WatchedCluster, api_client, binder
    from aios_core.k8s.extender import ExtenderCore, serve, tls_context
    from aios_core.k8s.state import ClusterState

    try:
        opts = _options(resources, gpu_resource, topology_labels)
        ctx = tls_context(tls_cert, tls_key)
        if snapshot:
            from aios_core.k8s.convert import items_of

            objs = [o for i, p in enumerate(snapshot) for o in items_of(_read_json(p), f"snapshot[{i}]")]
            state = ClusterState.from_objects(objs, opts, policy=policy, seed=seed)
            core, ready = ExtenderCore(state, node_cache=node_cache), None
        else:
            api = api_client(kubeconfig, in_cluster, server)
            state = ClusterState(opts, policy=policy, seed=seed)
            watched = WatchedCluster(api, state)
            watched.start()
            core, ready = ExtenderCore(state, node_cache=node_cache, binder=binder(api)), watched.ready
    except AiosError as exc:
        bad_input(str(exc))

    def started(bound: int) -> None:
        if port_file is not None:
            port_file.write_text(str(bound))
        console.print(f"aios extender on {'https' if ctx else 'http'}://{host}:{bound}{prefix}", highlight=False)

    try:
        serve(core, host, port, prefix, body_limit, read_timeout, ctx, ready, started)
    except KeyboardInterrupt:
        pass


@k8s_app.command("scheduler")
def scheduler_cmd(
    name: Annotated[str, typer.Option(help="spec.schedulerName of the pods this scheduler owns.")] = "aios",
    kubeconfig: Annotated[str | None, typer.Option(help="kubeconfig file (default ~/.kube/config).")] = None,
    in_cluster: Annotated[bool, typer.Option(help="Use the pod's service account.")] = False,
    server: Annotated[str | None, typer.Option(help="API server URL without credentials (testing).")] = None,
    policy: PolicyOpt = "best_fit",
    seed: Annotated[int, typer.Option(help="Seed of the tie-breaking.")] = 0,
    preemption: Annotated[bool, typer.Option(help="Delete lower-priority pods to make room (opt-in).")] = False,
    resources: ResourcesOpt = "cpu,memory,pods",
    gpu_resource: GpuOpt = DEFAULT_GPU_RESOURCE,
    topology_labels: TopologyOpt = "",
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run a secondary scheduler: watch, place in batches, bind; Ctrl-C (or SIGTERM) stops it."""
    _require()
    _logging(verbose)
    from aios_core.k8s.connect import api_client
    from aios_core.k8s.scheduler import KubeScheduler

    try:
        sched = KubeScheduler(api_client(kubeconfig, in_cluster, server), name, _options(resources, gpu_resource, topology_labels),
                              policy=policy, seed=seed, preemption=preemption)
    except AiosError as exc:
        bad_input(str(exc))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        sched.run(stop)
    except KeyboardInterrupt:
        stop.set()


@k8s_app.command("plan")
def plan_cmd(
    snapshot: Annotated[list[Path], typer.Option(help="`kubectl get nodes,pods -o json` output (repeatable; may add priorityclasses, podgroups).")],
    name: Annotated[str, typer.Option(help="Plan the pending pods with this spec.schedulerName.")] = "aios",
    policy: PolicyOpt = "best_fit",
    seed: Annotated[int, typer.Option(help="Seed of the tie-breaking.")] = 0,
    resources: ResourcesOpt = "cpu,memory,pods",
    gpu_resource: GpuOpt = DEFAULT_GPU_RESOURCE,
    topology_labels: TopologyOpt = "",
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The secondary scheduler's decisions for a snapshot, without binding anything."""
    from aios_core.k8s.plan import plan

    try:
        result = plan([_read_json(p) for p in snapshot], name, _options(resources, gpu_resource, topology_labels), policy, seed)
    except AiosError as exc:
        bad_input(str(exc))
    if as_json:
        print_json(result)
    else:
        console.print(f"{result['nodes']} nodes, {result['pending']} pending pod(s) of scheduler {name!r}", highlight=False)
        for pod, node in result["bound"].items():
            console.print(f"  {pod} -> {node}", highlight=False)
        for pod, msg in result["failed"].items():
            console.print(f"  {pod}: {msg}", highlight=False)
    if result["failed"]:
        raise typer.Exit(EXIT_FAILED)
