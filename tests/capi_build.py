"""Builds the C API's consumers for the tests: the C and Go examples against the installed package,
and the sanitizer checker against an AddressSanitizer build of libaios from this source tree."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import aios_core

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


def declared_functions(header: str) -> list[str]:
    """The functions aios.h declares, in order."""
    return re.findall(r"AIOS_API\s[^;]*?\b(aios_\w+)\(", header)


def run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    """Runs a command; on failure the test fails with its output."""
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done.stdout


def tool(*names: str) -> str | None:
    """The first of the named programs on PATH or next to this Python (a venv's cmake and ninja)."""
    for name in names:
        found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
        if found:
            return found
    return None


def c_compiler() -> str:
    cc = os.environ.get("CC") or tool("cc", "gcc", "clang")
    if cc is None:
        pytest.skip("no C compiler (cc, gcc or clang) on PATH")
    return cc


def cxx_compiler() -> str:
    cxx = os.environ.get("CXX") or tool("c++", "g++", "clang++")
    if cxx is None:
        pytest.skip("no C++ compiler (c++, g++ or clang++) on PATH")
    return cxx


def cmake_args() -> list[str]:
    cmake = tool("cmake")
    if cmake is None:
        pytest.fail("cmake is missing: it is a test dependency (pip install '.[test]')")
    ninja = tool("ninja")
    return [cmake, "-G", "Ninja", f"-DCMAKE_MAKE_PROGRAM={ninja}"] if ninja else [cmake]


def build_c_example(out: Path) -> Path:
    """examples/c configured with find_package(aios) from aios_core.get_cmake_dir()."""
    cmake = cmake_args()
    run([*cmake, "-S", str(EXAMPLES / "c"), "-B", str(out), f"-Daios_DIR={aios_core.get_cmake_dir()}",
         f"-DCMAKE_C_COMPILER={c_compiler()}"])
    run([cmake[0], "--build", str(out)])
    return out / "place"


def go_tool() -> str:
    go = tool("go")
    if go is None:
        if os.environ.get("AIOS_REQUIRE_GO") == "1":
            pytest.fail("AIOS_REQUIRE_GO=1 but `go` is not on PATH (Debian: apt-get install golang-go)")
        pytest.skip("go is not installed (Debian: apt-get install golang-go); AIOS_REQUIRE_GO=1 makes this a failure")
    return go


def build_go_example(out: Path) -> Path:
    """examples/go built with cgo flags from aios_core.get_include() and get_lib_dir()."""
    lib = aios_core.get_lib_dir()
    env = dict(os.environ)
    env.update(
        CGO_ENABLED="1",
        CGO_CFLAGS=f"-I{aios_core.get_include()}",
        CGO_LDFLAGS=f"-L{lib} -Wl,-rpath,{lib}",
        GOCACHE=str(out / "gocache"),
        GOPATH=str(out / "gopath"),
        GOFLAGS="-mod=mod",
        CC=c_compiler(),
    )
    binary = out / "place-go"
    run([go_tool(), "build", "-o", str(binary), "."], cwd=EXAMPLES / "go", env=env)
    return binary


def asan_supported(cc: str, work: Path) -> bool:
    probe = work / "probe.c"
    probe.write_text("int main(void) { return 0; }\n")
    done = subprocess.run([cc, "-fsanitize=address,undefined", str(probe), "-o", str(work / "probe")],
                          capture_output=True)
    return done.returncode == 0 and subprocess.run([str(work / "probe")], capture_output=True).returncode == 0


def build_asan_checker(out: Path) -> Path:
    """libaios and its core from this tree with AIOS_SANITIZE, and tests/capi/check_errors.c over it."""
    if not (ROOT / "CMakeLists.txt").is_file():
        pytest.skip("the source tree is not next to the tests")
    cc = c_compiler()
    out.mkdir(parents=True, exist_ok=True)
    if not asan_supported(cc, out):
        pytest.skip(f"{cc} cannot build and run with -fsanitize=address,undefined")
    build = out / "build"
    cmake = cmake_args()
    run([*cmake, "-S", str(ROOT), "-B", str(build), "-DAIOS_BUILD_PYTHON=OFF", "-DAIOS_SANITIZE=ON",
         "-DCMAKE_BUILD_TYPE=Debug", f"-DCMAKE_CXX_COMPILER={cxx_compiler()}"])
    run([cmake[0], "--build", str(build), "--target", "aios"])
    checker = out / "check_errors"
    run([cc, "-std=c99", "-g", "-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-Wall", "-Wextra",
         "-Werror", "-pedantic", f"-I{ROOT / 'csrc' / 'include'}", str(ROOT / "tests" / "capi" / "check_errors.c"),
         f"-L{build}", "-laios", f"-Wl,-rpath,{build}", "-pthread", "-o", str(checker)])
    return checker
