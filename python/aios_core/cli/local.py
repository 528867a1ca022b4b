"""`aios local ...`: run the local GPU daemon and submit, list, cancel and follow its jobs."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from aios_core.cli._common import EXIT_FAILED, bad_input, console, err_console, print_json
from aios_core.errors import AiosError, ConfigError

local_app = typer.Typer(add_completion=False, no_args_is_help=True,
                        help="Share this machine's GPUs: a queue with fair share, priority and topology.")

SocketOpt = Annotated[Optional[Path], typer.Option("--socket", help="Daemon socket (default: the user's state dir, "
                                                                     "or $AIOS_LOCAL_SOCKET).")]


def _client(socket: Path | None) -> Any:
    from aios_core.local.client import Client

    return Client(socket)


def _fail(e: Exception) -> None:
    if isinstance(e, ConfigError):
        bad_input(str(e))
    err_console.print(f"[bold red]error:[/] {e}", highlight=False)
    raise typer.Exit(EXIT_FAILED)


@local_app.command("serve")
def serve_cmd(
    topology: Annotated[Optional[Path], typer.Option(help="`nvidia-smi topo -m` text or topology JSON "
                                                         "(default: discover through NVML, then nvidia-smi).")] = None,
    gpu_model: Annotated[Optional[str], typer.Option(help="GPU model for topology text, e.g. A100-SXM4-80GB "
                                                          "(sets memory for --gpu-memory shares).")] = None,
    state_dir: Annotated[Optional[Path], typer.Option(help="Database, logs and socket.")] = None,
    socket: SocketOpt = None,
    socket_group: Annotated[Optional[str], typer.Option(help="Let this group use the socket (mode 0660).")] = None,
    grace: Annotated[float, typer.Option(help="Seconds between SIGTERM and SIGKILL on cancel.")] = 10.0,
    max_user_priority: Annotated[int, typer.Option(help="As root: the highest --priority other users may ask.")] = 100,
) -> None:
    """Run the daemon in the foreground (stop with SIGTERM; running jobs keep running)."""
    from aios_core.local.daemon import default_state_dir, serve
    from aios_core.local.discovery import discover
    from aios_core.local.executor import ExecutorConfig

    logging.basicConfig(level=logging.INFO, format="aios-local %(levelname)s %(message)s")
    try:
        topo = discover(topology, gpu_model)
        config = ExecutorConfig(state_dir=state_dir or default_state_dir(), topology=topo, grace_s=grace,
                                max_user_priority=max_user_priority)
        err_console.print(f"aios local: {topo.size} GPUs, state in {config.state_dir}", highlight=False)
        serve(config, socket, socket_group)
    except AiosError as e:
        _fail(e)


@local_app.command("submit", context_settings={"allow_interspersed_args": False})
def submit_cmd(
    command: Annotated[list[str], typer.Argument(help="The command and its arguments (after --).")],
    gpus: Annotated[int, typer.Option(help="Number of GPUs.")] = 1,
    gpu_memory: Annotated[Optional[str], typer.Option(help="Share GPUs: memory per GPU, e.g. 20G.")] = None,
    user: Annotated[Optional[str], typer.Option(help="Fair-share user to charge (default: you).")] = None,
    priority: Annotated[int, typer.Option(help="0..100; higher starts first.")] = 0,
    socket: SocketOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the job record as JSON.")] = False,
) -> None:
    """Queue a command; prints its job id."""
    try:
        job = _client(socket).submit(command, gpus, gpu_memory=gpu_memory, user=user, priority=priority)
    except AiosError as e:
        _fail(e)
        return
    if json_out:
        print_json(job)
    else:
        typer.echo(job["id"])


@local_app.command("ps")
def ps_cmd(
    all_jobs: Annotated[bool, typer.Option("--all", "-a", help="Include finished jobs.")] = False,
    socket: SocketOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List queued and running jobs (queue position first to start = 1)."""
    try:
        jobs = _client(socket).ps(all_jobs)
    except AiosError as e:
        _fail(e)
        return
    if json_out:
        print_json(jobs)
        return
    table = Table("ID", "USER", "STATE", "POS", "GPUS", "ASSIGNED", "EXIT", "COMMAND", "REASON")
    for j in jobs:
        gpus = str(j["gpus"]) + (f"x{j['gpu_memory'] >> 20}M" if j["gpu_memory"] else "")
        table.add_row(str(j["id"]), j["user"], j["state"], str(j.get("position") or ""), gpus,
                      ",".join(map(str, j["assigned"])), "" if j["exit_code"] is None else str(j["exit_code"]),
                      " ".join(j["argv"])[:40], j["reason"])
    console.print(table)


@local_app.command("cancel")
def cancel_cmd(job_id: Annotated[int, typer.Argument(help="Job id.")], socket: SocketOpt = None) -> None:
    """Cancel a queued or running job (your own, or any as root)."""
    try:
        job = _client(socket).cancel(job_id)
    except AiosError as e:
        _fail(e)
        return
    typer.echo(f"job {job['id']}: {'cancelled' if job['state'] == 'cancelled' else 'cancelling'}")


@local_app.command("logs")
def logs_cmd(
    job_id: Annotated[int, typer.Argument(help="Job id.")],
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing until the job ends.")] = False,
    socket: SocketOpt = None,
) -> None:
    """Print a job's output (stdout and stderr)."""
    try:
        for chunk in _client(socket).log_chunks(job_id, follow=follow):
            sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()
    except AiosError as e:
        _fail(e)


@local_app.command("gpus")
def gpus_cmd(
    topology: Annotated[Optional[Path], typer.Option(help="`nvidia-smi topo -m` text or topology JSON "
                                                         "(default: NVML, then nvidia-smi).")] = None,
    gpu_model: Annotated[Optional[str], typer.Option(help="GPU model for topology text.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the topology as JSON.")] = False,
) -> None:
    """Show the GPUs and links the daemon would discover (no daemon needed)."""
    from aios_core.local.discovery import discover
    from aios_core.topology import Level

    try:
        topo = discover(topology, gpu_model)
    except AiosError as e:
        _fail(e)
        return
    if json_out:
        print_json(topo.to_dict())
        return
    table = Table("GPU", "MODEL", "MEMORY", *[f"GPU{j}" for j in range(topo.size)])
    for i, d in enumerate(topo.devices):
        links = ["X" if i == j else (f"NV{int(topo.nvlinks[i, j])}" if topo.nvlinks[i, j] else
                                     Level(int(topo.level[i, j])).name) for j in range(topo.size)]
        table.add_row(str(i), d.model, f"{d.memory_bytes >> 20} MiB", *links)
    console.print(table)
