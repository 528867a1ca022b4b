"""`aios simulate`: replay a trace under several policies and compare them."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from aios_core.cli._common import EXIT_FAILED, bad_input, console, err_console, print_json, progress, status
from aios_core.cli.sim_options import WORKLOAD_FIELDS, prepare_out, user_weights, workload_keys, workload_spec
from aios_core.cluster import Cluster
from aios_core.errors import ConfigError
from aios_core.sim import DEFAULT_POLICIES, JobTrace, Policy, simulate
from aios_core.sim.drains import read_node_events
from aios_core.sim.public_traces import dlrm_path, read_dlrm_instances, read_sia_workload, sia_path
from aios_core.sim.readers import MAX_TIME, alibaba_path, philly_runtimes, read_alibaba_nodes, read_alibaba_pods
from aios_core.sim.synthetic import default_workload, synthetic_cluster, synthetic_trace
from aios_core.sim.trace_files import read_trace_file

SYNTHETIC = ("synthetic", "synthetic-philly")
MAX_JOBS, MAX_NODES = 100_000_000, 1_000_000  # beyond these a typo, not a workload (memory runs out first)


def load_trace(trace: str, seed: int, jobs: int | None, workload: Sequence[str] = ()) -> tuple[JobTrace, Cluster | None]:
    """`default`, `synthetic`, `synthetic-philly` (durations drawn from the Philly run times),
    `alibaba[:variant]`, `dlrm` (Alibaba DLRM 2025 instances), `sia[:philly|saturn[:N]]` (Sia
    arrival streams, durations drawn from the Philly run times) or a path to a trace file (our
    CSV/JSON job format, or an Alibaba pod list, DLRM instance list or Sia stream, by header). `workload` (KEY=VALUE) sets parameters of the synthetic traces."""
    if workload and trace not in SYNTHETIC:
        raise ConfigError(f"--workload: sets the parameters of the synthetic traces, not of {trace!r}")
    if trace == "default":
        tr, cl = default_workload()
        return tr, cl
    if trace in ("synthetic", "synthetic-philly"):
        durations = philly_runtimes() if trace == "synthetic-philly" else None
        spec = workload_spec(workload, jobs or 2000, 5.0)
        if durations is not None and workload_keys(workload) & {"duration_median_s", "duration_sigma"}:
            raise ConfigError("--workload: synthetic-philly draws durations from the Philly run times; "
                              "duration_median_s and duration_sigma do not apply (max_duration_s does)")
        return synthetic_trace(dataclasses.replace(spec, durations=durations), seed=seed), None
    if trace == "alibaba" or trace.startswith("alibaba:"):
        pods, nodes = alibaba_path(trace.partition(":")[2] or "default")
        if not pods.is_file():
            raise ConfigError(f"trace: {pods} not found (set AIOS_SHARED_DATA to the shared data folder)")
        return read_alibaba_pods(pods), read_alibaba_nodes(nodes)
    if trace == "dlrm":
        if not dlrm_path().is_file():
            raise ConfigError(f"trace: {dlrm_path()} not found (set AIOS_SHARED_DATA to the shared data folder)")
        return read_dlrm_instances(dlrm_path()), None
    if trace == "sia" or trace.startswith("sia:"):
        _, _, rest = trace.partition(":")
        cluster, _, number = rest.partition(":")
        try:
            path = sia_path(cluster or "philly", int(number or 1))
        except ValueError:
            raise ConfigError(f"trace: sia:CLUSTER:N needs an integer N, got {number!r}") from None
        if not path.is_file():
            raise ConfigError(f"trace: {path} not found (set AIOS_SHARED_DATA to the shared data folder)")
        return read_sia_workload(path, seed=seed), None
    if not Path(trace).is_file():
        raise ConfigError(f"trace: no such file {trace!r} (or use default, synthetic, alibaba[:variant], dlrm, sia)")
    return read_trace_file(trace, seed)


def load_cluster(path: str) -> Cluster:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"cluster: no such file {path!r}")
    if p.suffix.lower() == ".csv":
        return read_alibaba_nodes(p)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cluster: cannot read {path!r} as text ({exc})") from None
    if not text.lstrip().startswith("{"):
        raise ConfigError(f"cluster: {path!r} is not a JSON object (the format of Cluster.from_json)")
    try:
        return Cluster.from_json(text)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def split_policies(specs: list[str] | tuple[str, ...]) -> list[str]:
    """Policy specs from repeated and comma-separated values; a piece that starts with a digit
    continues the one before (the thresholds of ``las@3600,36000``)."""
    out: list[str] = []
    for spec in specs:
        for piece in spec.split(","):
            piece = piece.strip()
            if piece[:1].isdigit() and out:
                out[-1] += "," + piece
            elif piece:
                out.append(piece)
    return out


def _secs(x: float) -> str:
    return f"{x:.0f}" if x < 10_000 else f"{x / 1000:.0f}k" if x < 10_000_000 else f"{x / 1e6:.0f}M"


def _table(metrics: list[dict[str, Any]]) -> Table:
    t = Table(title="policy comparison (times in seconds)", box=box.SIMPLE_HEAD, pad_edge=False,
              caption="done/unsch: jobs finished/unschedulable; JCT mean, p50, p99; wait: mean queueing delay; "
                      "GPU: mean utilisation; frag: stranded share of free GPU; Jain: of per-user slowdown; "
                      "dev: largest per-user share deviation; kill: preemptions + drain kills")
    for col in ("policy", "done", "unsch", "JCT", "p50", "p99", "wait", "GPU", "frag", "Jain", "dev", "kill"):
        t.add_column(col, justify="left" if col == "policy" else "right", no_wrap=True)
    for m in metrics:
        jct = m["jct_s"]
        t.add_row(escape(m["policy"]), str(m["finished"]), str(m["unschedulable"]), _secs(jct["mean"]), _secs(jct["p50"]),
                  _secs(jct["p99"]), _secs(m["queueing_delay_s"]["mean"]), f"{m['gpu_utilisation']:.2f}",
                  f"{m['gpu_fragmentation']:.2f}", f"{m['jain_slowdown']:.2f}", f"{m['share_deviation_max']:.3f}",
                  str(m["preemptions"] + m["drain_kills"]))
    return t


def simulate_cmd(
    trace: Annotated[str, typer.Option(help="default | synthetic | synthetic-philly | alibaba[:variant] | dlrm | "
                                            "sia[:philly|saturn[:N]] | a trace file: our CSV/JSON job format, or an "
                                            "Alibaba pod list, DLRM instance list or Sia stream (told by its header)")
                 ] = "default",
    cluster: Annotated[str | None, typer.Option(help="cluster JSON (Cluster.from_json) or Alibaba node CSV")] = None,
    policy: Annotated[list[str] | None, typer.Option(
        "--policy", "-p", "--policies",
        help=escape("order[@args][+flag...][:placement]; orders fifo, priority, sjf, drf, fairtree, kueue, las "
                    "(las@T1,T2: its queue thresholds); flags easy, easy@N, preempt, predict, rigid; placement "
                    "any Placer policy; repeatable or comma-separated"))] = None,
    nodes: Annotated[int | None, typer.Option(min=1, max=MAX_NODES, help="nodes of the built-in cluster (8 GPUs each; default 64) "
                                                          "when the trace brings none and --cluster is not given")] = None,
    seed: Annotated[int, typer.Option(min=0, help="seed of placement ties and synthetic traces")] = 0,
    jobs: Annotated[int | None, typer.Option(min=1, max=MAX_JOBS, help="synthetic: number of jobs; default and files: keep the first N")] = None,
    workload: Annotated[list[str] | None, typer.Option(
        help=f"synthetic traces: KEY=VALUE parameters of the generator, repeatable or comma-separated "
             f"({', '.join(WORKLOAD_FIELDS)}; gpu_counts as GPUS:WEIGHT/..., e.g. 1:0.6/8:0.4)")] = None,
    node_events: Annotated[Path | None, typer.Option(
        help="CSV of node drains and returns: header time,node,event; event down or up")] = None,
    user_weight: Annotated[list[str] | None, typer.Option(
        help="fair-share weight of a trace user, NAME=W (default 1): the shares of drf, fairtree and kueue, "
             "and what the share deviation is measured against")] = None,
    compress: Annotated[int, typer.Option(max=MAX_TIME, help="divide arrival times by this factor (offer the jobs faster)")] = 1,
    out: Annotated[Path, typer.Option(help="output folder for results.json and plots")] = Path("aios-out"),
    plots: Annotated[bool, typer.Option(help="write PNG plots")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print the metrics as JSON instead of a table")] = False,
) -> None:
    """Replay a job trace under several scheduling policies; print a table, write JSON and plots.
    Exit 1 when no policy finishes any job."""
    try:
        if cluster is not None and nodes is not None:
            raise ConfigError("nodes: sizes the built-in cluster; drop it or --cluster")
        if nodes is not None and trace.startswith("alibaba"):
            raise ConfigError("nodes: the alibaba traces bring their own cluster; drop --nodes")
        policies = [Policy.parse(p) for p in split_policies(policy or DEFAULT_POLICIES)]
        if not policies:
            raise ConfigError("policy: none given (e.g. -p fifo,drf)")
        names = [p.name for p in policies]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ConfigError(f"policy: {', '.join(twice)} given twice (the same policy gives the same result)")
        with status(f"reading the trace {trace}", as_json):
            tr, cl = load_trace(trace, seed, jobs, workload or ())
        if jobs is not None and trace not in SYNTHETIC:  # the default and files: the first N
            tr = tr.head(jobs)
        if compress != 1:
            tr = tr.compress(compress)
        if cluster is not None:
            cl = load_cluster(cluster)
        if nodes is not None:
            cl = synthetic_cluster(nodes=nodes)
        cl = synthetic_cluster() if cl is None else cl
        weights = user_weights(user_weight or (), tr.users)
        events = read_node_events(node_events, cl) if node_events is not None else []
        if plots and importlib.util.find_spec("matplotlib") is None:
            raise ConfigError("plots: need matplotlib (pip install 'aios-core[cli]'), or pass --no-plots")
        prepare_out(out)  # the last check: nothing is written for bad input
        results = []
        with progress(as_json) as bar:
            task = bar.add_task("simulating", total=len(policies))
            for pol in policies:
                bar.update(task, description=f"simulating {pol.name}")
                results.append(simulate(tr, cl, pol, seed=seed, user_weights=weights, node_events=events))
                bar.advance(task)
    except ConfigError as exc:
        bad_input(str(exc))
    with status("computing metrics", as_json):
        metrics = [r.metrics(weights) for r in results]
    payload = {"trace": trace, "jobs": len(tr), "nodes": cl.num_nodes, "seed": seed, "compress": compress,
               "user_weights": dict(zip(tr.users, weights)) if weights else None, "node_events": len(events),
               "results": metrics}
    try:
        (out / "results.json").write_text(json.dumps(payload, indent=2))
        written = [out / "results.json"]
        if plots:
            from aios_core.sim.plots import plot_results

            with status("drawing plots", as_json):
                written += plot_results(results, out, metrics)
    except OSError as exc:
        err_console.print(f"[bold red]error:[/] {escape(f'out: cannot write into {str(out)!r} ({exc})')}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    if as_json:
        print_json(payload)
    else:
        wide = console if console.width >= 110 else Console(width=110)  # wrap lines rather than truncate numbers
        wide.print(_table(metrics))
        console.print(escape(f"wrote {', '.join(str(p) for p in written)}"))
    if all(m["finished"] == 0 for m in metrics) and len(tr):
        raise typer.Exit(EXIT_FAILED)
