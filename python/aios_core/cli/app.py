"""The Typer application of the `aios` command."""

from __future__ import annotations

import typer

from aios_core.cli.k8s import k8s_app
from aios_core.cli.local import local_app
from aios_core.cli.pack import pack_cmd
from aios_core.cli.simulate import simulate_cmd
from aios_core.cli.slurm import slurm_app
from aios_core.cli.tools import bench_cmd, place_cmd, plan_cmd

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="aios-core: simulate scheduling policies on job traces, place tasks, pack bins, plan model partitions. "
                       "Exit codes: 0 done, 1 the work could not be done (see each command), 2 bad input.")
app.command("simulate")(simulate_cmd)
app.command("place")(place_cmd)
app.command("pack")(pack_cmd)
app.command("plan")(plan_cmd)
app.command("bench")(bench_cmd)
app.add_typer(k8s_app, name="k8s")
app.add_typer(local_app, name="local")
app.add_typer(slurm_app, name="slurm")
