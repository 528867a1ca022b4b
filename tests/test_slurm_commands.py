"""The Slurm command runner: timeouts and Slurm's messages become clear exceptions."""

from __future__ import annotations

import math

import pytest

from aios_core.errors import ConfigError
from aios_core.slurm.commands import SlurmCli, command_error
from aios_core.slurm.errors import SlurmError, SlurmRejectedError, SlurmUnavailableError


def test_a_command_that_hangs_is_stopped_and_reported() -> None:
    with pytest.raises(SlurmUnavailableError, match=r"no answer within 0.3 s"):
        SlurmCli(timeout_s=0.3).run(["sleep", "5"])


def test_a_failing_command_keeps_slurms_message() -> None:
    msg = "sbatch: error: Batch job submission failed: Invalid partition name specified"
    with pytest.raises(SlurmRejectedError, match="Invalid partition name specified") as info:
        SlurmCli().run(["sh", "-c", f"echo '{msg}' >&2; exit 1"])
    assert info.value.returncode == 1 and msg in info.value.stderr


def test_daemon_down_messages_mean_unavailable() -> None:
    err = command_error(["squeue"], 1, "squeue: error: Unable to contact slurm controller (connect failure)")
    assert isinstance(err, SlurmUnavailableError)
    err = command_error(["sshare"], 1, "sshare: error: Problem talking to the database: Connection refused")
    assert isinstance(err, SlurmUnavailableError)
    assert isinstance(command_error(["sbatch"], 1, "sbatch: error: Invalid account"), SlurmRejectedError)
    assert "exit status 3" in str(command_error(["scontrol"], 3, ""))


def test_missing_tool_and_bad_timeout() -> None:
    with pytest.raises(SlurmError, match="not found on PATH"):
        SlurmCli().run(["aios-no-such-slurm-tool"])
    for bad in (0, -1, math.nan):
        with pytest.raises(ConfigError, match="timeout_s"):
            SlurmCli(timeout_s=bad)
    with pytest.raises(ConfigError, match="args"):
        SlurmCli().run([])


def test_slurm_conf_is_passed_to_the_child() -> None:
    out = SlurmCli(conf="/etc/aios-test.conf").run(["sh", "-c", "echo $SLURM_CONF"])
    assert out.strip() == "/etc/aios-test.conf"
