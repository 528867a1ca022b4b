"""The C API under AddressSanitizer and UndefinedBehaviorSanitizer: every entry point given NULL
pointers, wrong sizes, destroyed and never-created handles returns an error code (never a crash or
a use of freed memory), rejected calls change nothing, and threads may share an engine and destroy
it while others call it (tests/capi/check_errors.c)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from capi_build import build_asan_checker, declared_functions


def test_every_entry_point_rejects_bad_arguments_under_asan(tmp_path_factory: pytest.TempPathFactory) -> None:
    checker = build_asan_checker(tmp_path_factory.mktemp("capi-asan"))
    env = dict(os.environ, ASAN_OPTIONS="halt_on_error=1:detect_leaks=1", UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1")
    done = subprocess.run([str(checker)], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("ok "), done.stdout
    assert int(done.stdout.split()[1]) >= 150  # the checker ran all its checks


def test_checker_covers_every_entry_point() -> None:
    """Each function the header declares is called by the checker."""
    root = Path(__file__).resolve().parents[1]
    header = (root / "csrc" / "include" / "aios" / "aios.h").read_text()
    checker = (root / "tests" / "capi" / "check_errors.c").read_text()
    missing = [f for f in declared_functions(header) if f + "(" not in checker]
    assert not missing
