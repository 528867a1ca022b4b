"""`aios slurm`: read a live Slurm cluster, submit jobs where aios places them, reorder the
pending queue with aios fair share, and replay recent history through aios policies."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast

import typer
from rich.table import Table

from aios_core.cli._common import EXIT_FAILED, bad_input, console, err_console, print_json
from aios_core.errors import ConfigError, UnschedulableError

slurm_app = typer.Typer(no_args_is_help=True, add_completion=False,
                        help="Slurm adapter: show the cluster, submit jobs placed by aios, order the queue, replay history.")

T = TypeVar("T")
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="seconds each Slurm command may take")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON")]
PartitionOpt = Annotated[str | None, typer.Option(help="Slurm partition (default: the default partition)")]


def _guard(work: Callable[[], T]) -> T:
    """Runs `work`, mapping errors to exit codes: 2 bad input, 1 Slurm failed or no room."""
    from aios_core.slurm.errors import SlurmError

    try:
        return work()
    except SlurmError as exc:
        err_console.print(f"[bold red]slurm:[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    except UnschedulableError as exc:
        err_console.print(f"[bold red]unschedulable:[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    except ConfigError as exc:
        bad_input(str(exc))


def _runner(timeout: float) -> Any:
    from aios_core.slurm.commands import SlurmCli

    return SlurmCli(timeout_s=timeout)


@slurm_app.command("show")
def show_cmd(timeout: TimeoutOpt = 20.0, as_json: JsonOpt = False) -> None:
    """Nodes, GPUs in use, partitions and switches as aios reads them."""
    from aios_core.slurm.read import snapshot, switch_paths

    snap = _guard(lambda: snapshot(_runner(timeout)))
    if as_json:
        print_json({"nodes": [asdict(n) for n in snap.nodes], "switches": [asdict(s) for s in snap.switches],
                    "partitions": [asdict(p) for p in snap.partitions]})
        return
    names = [n.name for n in snap.nodes]
    node_paths, _ = _guard(lambda: switch_paths(names, snap.switches))
    paths = {n: "/".join(p) for n, p in zip(names, node_paths)}
    table = Table("node", "state", "CPUs", "memory MB", "GPUs", "in use", "partitions", "switches")
    for n in snap.nodes:
        table.add_row(n.name, n.state + ("+" + "+".join(n.flags) if n.flags else ""), f"{n.alloc_cpus}/{n.cpus}",
                      f"{n.alloc_memory_mb}/{n.memory_mb}", f"{n.gpus} {n.gpu_model}".strip(),
                      ",".join(map(str, n.gpus_used)) or "-", ",".join(n.partitions), paths.get(n.name, ""))
    console.print(table)


def _component(spec: str, base: Any) -> Any:
    from aios_core.slurm.plan import JobRequest

    gpus, sep, nodes = spec.partition("x")
    if not gpus.isdigit() or (sep and not nodes.isdigit()):
        raise ConfigError(f"--het: expected GPUSxNODES such as 4x2, got {spec!r}")
    return JobRequest(int(gpus), int(nodes or 0), base.cpus_per_node, base.mem_mb_per_node, base.gpu_model, base.topology)


@slurm_app.command("submit")
def submit_cmd(
    script: Annotated[Path, typer.Argument(help="batch script for sbatch (put it after --)")],
    gpus: Annotated[int, typer.Option(help="GPUs in total")] = 1,
    nodes: Annotated[int, typer.Option(help="nodes (0: the fewest that hold the GPUs)")] = 0,
    topology: Annotated[str, typer.Option(help="switch: fewest leaf switches (adds --switches); none")] = "switch",
    het: Annotated[list[str] | None, typer.Option(help="another component of one heterogeneous job, GPUSxNODES (repeatable)")] = None,
    partition: PartitionOpt = None,
    account: Annotated[str | None, typer.Option(help="Slurm account")] = None,
    cpus_per_node: Annotated[int, typer.Option(help="CPUs per node")] = 1,
    mem_per_node: Annotated[int, typer.Option(help="memory per node, MB")] = 1000,
    gpu_model: Annotated[str | None, typer.Option(help="GPU type (the GRES type, e.g. a100)")] = None,
    gpu_topology: Annotated[str | None, typer.Option(help="node GPU topology preset for the GPU set (e.g. dgx-a100)")] = None,
    policy: Annotated[str, typer.Option(help="aios placement policy")] = "best_fit",
    name: Annotated[str, typer.Option(help="job name")] = "aios",
    output: Annotated[str | None, typer.Option(help="sbatch --output pattern")] = None,
    sbatch_arg: Annotated[list[str] | None, typer.Option(help="extra sbatch option, e.g. --sbatch-arg=--time=10 (repeatable)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the plan and the sbatch command only")] = False,
    seed: Annotated[int, typer.Option(help="seed of placement ties")] = 0,
    timeout: TimeoutOpt = 20.0,
    as_json: JsonOpt = False,
) -> None:
    """Choose nodes with aios and submit through sbatch (--nodelist, --gres, --switches); prints the job id."""
    from aios_core.slurm.plan import JobRequest, TopologyMode, plan_jobs
    from aios_core.slurm.read import snapshot
    from aios_core.slurm.submit import SubmitOptions, sbatch_command, submit
    from aios_core.topology import preset

    def work() -> dict[str, Any]:
        if topology not in ("switch", "none"):
            raise ConfigError(f"--topology: expected switch or none, got {topology!r}")
        mode: TopologyMode = "switch" if topology == "switch" else "none"
        first = JobRequest(gpus, nodes, cpus_per_node, mem_per_node, gpu_model, mode)
        requests = [first] + [_component(s, first) for s in het or []]
        runner = _runner(timeout)
        snap = snapshot(runner)
        topo = preset(gpu_topology) if gpu_topology else None
        plans = plan_jobs(snap, requests, partition, policy=policy, seed=seed, gpu_topology=topo)
        options = SubmitOptions(partition, account, name, output, tuple(sbatch_arg or ()))
        out: dict[str, Any] = {"plans": [{"nodes": list(p.nodes), "gpus_per_node": p.gpus_per_node,
                                          "leaf_switches": list(p.leaf_switches), "gpu_sets": [list(s) for s in p.gpu_sets]}
                                         for p in plans]}
        if dry_run:
            out["sbatch"] = sbatch_command(plans, script, options, "<token>")
            return out
        sub = submit(runner, plans, script, options)
        out.update(job_id=sub.job_id, token=sub.token, attempts=sub.attempts)
        return out

    result = _guard(work)
    if as_json:
        print_json(result)
    elif dry_run:
        for p in result["plans"]:
            console.print(f"nodes {','.join(p['nodes'])}  GPUs/node {p['gpus_per_node']}  switches {','.join(p['leaf_switches'])}")
        console.print(" ".join(result["sbatch"]), highlight=False)
    else:
        typer.echo(result["job_id"])


@slurm_app.command("queue")
def queue_cmd(
    policy: Annotated[str, typer.Option(help="fair-tree, drf (across accounts) or quota (Kueue-style)")] = "fair-tree",
    mode: Annotated[str, typer.Option(help="priority (absolute, admin) or nice (a bias)")] = "priority",
    apply: Annotated[bool, typer.Option("--apply", help="run scontrol update (default: only print what would change)")] = False,
    partition: PartitionOpt = None,
    timeout: TimeoutOpt = 20.0,
    as_json: JsonOpt = False,
) -> None:
    """Recompute pending jobs' order with an aios fair-share model; dry run unless --apply."""
    from aios_core.slurm.priorities import (QUEUE_POLICIES, ApplyMode, QueuePolicy, apply_changes, order_pending,
                                            plan_changes)
    from aios_core.slurm.read import read_shares, snapshot

    def work() -> list[Any]:
        if mode not in ("priority", "nice"):
            raise ConfigError(f"--mode: expected priority or nice, got {mode!r}")
        if policy not in QUEUE_POLICIES:
            raise ConfigError(f"--policy: expected one of {', '.join(QUEUE_POLICIES)}, got {policy!r}")
        apply_mode = cast(ApplyMode, mode)
        runner = _runner(timeout)
        snap = snapshot(runner)
        part = snap.partition(partition)
        cluster = snap.cluster(part.name)
        in_part = [j for j in snap.jobs if j.partition == part.name]
        pending = [j for j in in_part if j.state == "PENDING"]
        running = [j for j in in_part if j.state == "RUNNING"]
        order = order_pending(cast(QueuePolicy, policy), pending, running, read_shares(runner),
                              cluster.capacity.sum(axis=0))
        changes = plan_changes(order, apply_mode)
        if apply:
            apply_changes(runner, changes, apply_mode)
        return changes

    changes = _guard(work)
    if as_json:
        print_json({"applied": apply, "changes": [asdict(c) for c in changes]})
        return
    table = Table("rank", "job", "account", "user", "now", "new", title=("applied" if apply else "dry run") + f" ({mode})")
    for c in changes:
        table.add_row(str(c.rank), str(c.job_id), c.account, c.user, str(c.current), str(c.target))
    console.print(table if changes else "nothing to change")


@slurm_app.command("replay")
def replay_cmd(
    hours: Annotated[float, typer.Option(help="replay the jobs submitted in the last N hours")] = 24.0,
    policy: Annotated[list[str] | None, typer.Option(help="aios policy (repeatable; default fifo, drf, fifo+easy)")] = None,
    partition: PartitionOpt = None,
    jobs: Annotated[bool, typer.Option("--jobs", help="also print each job's wait under Slurm and aios")] = False,
    seed: Annotated[int, typer.Option(help="seed of placement ties")] = 0,
    timeout: TimeoutOpt = 60.0,
    as_json: JsonOpt = False,
) -> None:
    """What Slurm did with the last hours' jobs (sacct) beside what aios policies would have done."""
    from aios_core.slurm.read import read_history, snapshot
    from aios_core.slurm.replay import history_trace, replay

    def work() -> Any:
        runner = _runner(timeout)
        snap = snapshot(runner)
        part = snap.partition(partition)
        cluster = snap.cluster(part.name)
        jobs = [j for j in read_history(runner, hours) if j.partition == part.name]
        history = history_trace(jobs, cluster, int(time.time()))
        return replay(history, cluster, policy or ["fifo:best_fit", "drf:best_fit", "fifo+easy:best_fit"], seed)

    report = _guard(work)
    if as_json:
        print_json({"summary": report.summary(), "jobs": report.per_job(), "skipped": report.history.skipped})
        return
    table = Table("scheduler", "jobs", "started", "mean wait s", "p50 wait s", "max wait s", "makespan s")
    for r in report.summary():
        table.add_row(r["scheduler"], str(r["jobs"]), str(r["started"]), f"{r['wait_mean_s']:.0f}",
                      f"{r['wait_p50_s']:.0f}", f"{r['wait_max_s']:.0f}", str(r["makespan_s"]))
    console.print(table)
    if jobs:
        rows = report.per_job()
        jt = Table(*rows[0].keys()) if rows else Table()
        for row in rows:
            jt.add_row(*("-" if v is None else str(v) for v in row.values()))
        console.print(jt)
    if report.history.skipped:
        console.print(f"{len(report.history.skipped)} job(s) not replayed (never started)")
