"""`aios place` and `aios plan`: one-shot placement and model partitioning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.markup import escape
from rich.table import Table

from aios_core.cli._common import EXIT_FAILED, bad_input, console, print_json, progress, read_text, status
from aios_core.cli.simulate import load_cluster
from aios_core.cluster import Cluster
from aios_core.errors import AiosError, ConfigError, UnschedulableError
from aios_core.placer import POLICIES, Constraints, Placer
from aios_core.sim.readers import _open_csv


def _read_tasks(path: Path, cluster: Cluster) -> tuple[np.ndarray, list[Constraints | None]]:
    """Tasks as JSON (a list of {resource: quantity, "gpu_models"?: "A|B"}) or CSV (header of
    resource names, optional gpu_models column), one task per entry / row."""
    rows: list[tuple[str, dict[str, Any]]] = []
    text = read_text(path, "tasks")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{exc.lineno}: invalid JSON ({exc.msg})") from None
        if not isinstance(data, list):
            raise ConfigError(f"{path}: expected a list of task objects")
        for i, t in enumerate(data):
            if not isinstance(t, dict):
                raise ConfigError(f"{path}: tasks[{i}]: expected an object, got {type(t).__name__}")
            rows.append((f"{path}: tasks[{i}]", dict(t)))
    else:  # the trace readers' CSV rules: blank lines skipped, field counts and csv errors with the line
        header, csv_rows = _open_csv(path)
        for line, row in csv_rows:
            rec: dict[str, Any] = {}
            for k, v in zip(header, row):
                if k == "gpu_models":
                    rec[k] = v
                    continue
                try:
                    rec[k] = int(v)
                except ValueError:
                    raise ConfigError(f"{path}:{line}: column {k!r} expects an integer, got {v!r}") from None
            rows.append((f"{path}:{line}", rec))
    if not rows:
        raise ConfigError(f"{path}: no tasks")
    reqs, cons = [], []
    for where, rec in rows:
        models = rec.pop("gpu_models", None) or None
        try:
            reqs.append(cluster.request(rec))
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        cons.append(Constraints(gpu_models=frozenset(m for m in str(models).split("|") if m)) if models else None)
    return np.stack(reqs), cons


def place_cmd(
    tasks: Annotated[Path, typer.Argument(help="tasks: JSON list of {resource: quantity} or CSV")],
    cluster: Annotated[Path, typer.Option(help="cluster JSON (Cluster.from_json's format) or Alibaba node CSV")],
    policy: Annotated[str, typer.Option(help=f"placement policy: {', '.join(POLICIES)}")] = "best_fit",
    seed: Annotated[int, typer.Option(help="seed of placement ties")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Place tasks in order on a cluster; exit 1 if any task does not fit (with the reason)."""
    try:
        cl = load_cluster(str(cluster))
        req, cons = _read_tasks(tasks, cl)
        placer = Placer(cl, policy, seed=seed)
        with status(f"placing {len(req)} tasks", as_json):
            nodes = placer.place_batch(req, constraints=cons)
            reasons = [None if n >= 0 else placer.explain(req[i], cons[i]) for i, n in enumerate(nodes.tolist())]
    except ConfigError as exc:
        bad_input(str(exc))
    out = [{"task": i, "node": cl.names[n] if n >= 0 else None, "reason": reasons[i]} for i, n in enumerate(nodes.tolist())]
    if as_json:
        print_json({"placed": int((nodes >= 0).sum()), "tasks": out})
    else:
        t = Table(title=f"placement ({policy})")
        for col in ("task", "node", "reason"):
            t.add_column(col)
        for row in out:
            t.add_row(str(row["task"]), escape(str(row["node"] or "-")), escape(str(row["reason"] or "")))
        console.print(t)
    if (nodes < 0).any():
        raise typer.Exit(EXIT_FAILED)


def _node(machine: str, gpu: str | None) -> Any:
    """The topology of one node: a preset name, or a file holding `nvidia-smi topo -m` output (its
    GPU model from `gpu`) or Topology JSON."""
    from aios_core import topology

    path = Path(machine)
    if not path.is_file():
        if machine not in topology.PRESETS:
            raise ConfigError(f"machine: no preset or file {machine!r} (presets: {', '.join(topology.PRESETS)})")
        return topology.preset(machine, gpu=gpu)
    text = read_text(path, "machine")
    as_json = text.lstrip().startswith("{")
    if as_json and gpu is not None:
        raise ConfigError(f"gpu: {path} is Topology JSON, which names its GPUs; drop --gpu")
    if not as_json and gpu is None:
        raise ConfigError(f"gpu: {path} does not say which GPUs the node has; pass --gpu (e.g. H100, A100, V100)")
    try:
        return topology.Topology.from_json(text) if as_json else topology.Topology.from_nvidia_smi(text, gpu)
    except AiosError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def plan_cmd(
    model: Annotated[str, typer.Argument(help="transformer preset, e.g. gpt2, llama2-7b, gpt3-175b")],
    machine: Annotated[str, typer.Option(help="node preset (dgx1-v100, dgx-a100, dgx-h100, pcie-4gpu, pcie-8gpu), "
                                              "or a file: `nvidia-smi topo -m` output (with --gpu) or Topology JSON")
                       ] = "dgx-h100",
    gpu: Annotated[str | None, typer.Option(help="GPU model of the node (H100, A100, V100, L40S, A10); "
                                                 "needed for an nvidia-smi file")] = None,
    nodes: Annotated[int, typer.Option(max=4096, help="number of nodes (devices are compared pairwise: at most 4096)")] = 1,
    microbatches: Annotated[int, typer.Option(max=1_000_000_000, help="micro-batches per iteration")] = 8,
    micro_batch: Annotated[int, typer.Option(max=1_000_000, help="sequences per micro-batch")] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Partition a preset transformer on a preset cluster (pipeline x tensor x data parallel); exit 1 when
    no split fits in memory."""
    from aios_core import partition, topology

    try:
        if model not in partition.TRANSFORMER_PRESETS:
            raise ConfigError(f"model: unknown preset {model!r} (known: {', '.join(sorted(partition.TRANSFORMER_PRESETS))})")
        devices = topology.cluster(_node(machine, gpu), nodes)
        with status(f"planning {model} on {nodes} x {machine}", as_json):
            plan = partition.plan(partition.transformer(model, micro_batch), devices, microbatches)
    except UnschedulableError as exc:
        console.print(f"[bold red]unschedulable:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    except (ConfigError, AiosError) as exc:
        bad_input(str(exc))
    if as_json:
        print_json({
            "pipeline": plan.pipeline, "tensor": plan.tensor, "data": plan.data, "microbatches": plan.microbatches,
            "iteration_time_s": plan.iteration_time,
            "stages": [{"layers": [s.layers.start, s.layers.stop], "devices": list(s.devices), "time_s": s.time,
                        "memory_bytes": s.memory_bytes} for s in plan.stages],
        })
    else:
        typer.echo(plan.table())  # fixed-width text: no Rich re-wrapping


def bench_cmd(
    jobs: Annotated[int, typer.Option(max=100_000_000, help="jobs in the large synthetic trace (native engine); 0: none")] = 100_000,
    gpus: Annotated[int, typer.Option(max=8_000_000, help="GPUs of its cluster (8 per node)")] = 10_000,
    reference_jobs: Annotated[int, typer.Option(max=100_000_000, help="jobs of the small trace run on both engines")] = 2_000,
    reference_gpus: Annotated[int, typer.Option(max=8_000_000, help="GPUs of the small trace's cluster")] = 512,
    policy: Annotated[str, typer.Option(help="policy spec, order[+easy][+preempt][:placement]")] = "fifo:best_fit",
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Simulator throughput: events/s of the native engine vs the plain-Python reference."""

    from aios_core.sim import Policy
    from aios_core.sim.bench import measure

    runs = [(reference_jobs, reference_gpus, "native"), (reference_jobs, reference_gpus, "reference")]
    if jobs:
        runs.append((jobs, gpus, "native"))
    rows = []
    try:
        Policy.parse(policy)  # bad input is reported before any run, not after the first ones
        for n, g, _ in runs:
            if n < 1 or g < 8:
                raise ConfigError(f"jobs >= 1 and gpus >= 8 expected, got {n} jobs on {g} GPUs")
        with progress(as_json) as bar:
            task = bar.add_task("benchmarking", total=len(runs))
            for n, g, backend in runs:
                bar.update(task, description=f"{n} jobs on {g} GPUs, {backend}")
                rows.append(measure(n, g, policy, backend))
                bar.advance(task)
    except ConfigError as exc:
        bad_input(str(exc))
    if as_json:
        print_json(rows)
        return
    t = Table(title=f"simulator throughput ({policy})")
    for col in ("engine", "jobs", "GPUs", "events", "simulate (s)", "events/s"):
        t.add_column(col, justify="left" if col == "engine" else "right")
    for r in rows:
        t.add_row(r["backend"], str(r["jobs"]), str(r["gpus"]), str(r["events"]), f"{r['simulate_s']:.2f}",
                  f"{r['events_per_s']:,.0f}")
    console.print(t)
