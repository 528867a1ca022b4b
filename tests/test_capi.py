"""The C API (aios/aios.h, libaios) as an embedder sees it: install paths, the header under strict
C99 and C++17, the exported symbols, and the C and Go examples giving the same placements as the
Python API on the same inputs. The sanitizer checks are in test_capi_asan.py."""

from __future__ import annotations

import ctypes
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import aios_core
from aios_core.fairshare import drf
from aios_core.partition import split
from capi_build import EXAMPLES, build_c_example, build_go_example, c_compiler, cxx_compiler, declared_functions, tool
from capi_scenarios import parse, python_answer, random_scenario

HEADER = Path(aios_core.get_include()) / "aios" / "aios.h"
SCENARIOS = 30


def output_lines(program: list[str], text: str) -> list[str]:
    done = subprocess.run(program, input=text, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"exit {done.returncode}\n{text}\n{done.stdout}\n{done.stderr}"
    return [line.rstrip() for line in done.stdout.splitlines()]


@pytest.fixture(scope="module")
def c_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_c_example(tmp_path_factory.mktemp("capi-c"))


@pytest.fixture(scope="module")
def go_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_go_example(tmp_path_factory.mktemp("capi-go"))


@pytest.fixture(scope="module")
def libaios() -> ctypes.CDLL:
    return ctypes.CDLL(str(Path(aios_core.get_lib_dir()) / aios_core.embed.library_name()))


# ---------------------------------------------------------------- install layout


def test_paths_point_at_installed_files() -> None:
    assert HEADER.is_file()
    assert (Path(aios_core.get_lib_dir()) / aios_core.embed.library_name()).is_file()
    assert (Path(aios_core.get_cmake_dir()) / "aiosConfig.cmake").is_file()
    assert (Path(aios_core.get_cmake_dir()) / "aiosConfigVersion.cmake").is_file()


def test_a_missing_file_is_named_with_the_places_searched() -> None:
    with pytest.raises(FileNotFoundError, match=r"include/aios/missing\.h is not installed \(searched "):
        aios_core.embed._installed("include/aios/missing.h")


@pytest.mark.parametrize(
    ("flag", "expected"),
    [("--include-dir", aios_core.get_include), ("--lib-dir", aios_core.get_lib_dir), ("--cmake-dir", aios_core.get_cmake_dir)],
)
def test_command_line_prints_the_same_paths(flag: str, expected: object) -> None:
    out = subprocess.run([sys.executable, "-m", "aios_core", flag], capture_output=True, text=True, check=True).stdout
    # An editable install that rebuilds on import prints its build log first: the path is the last line.
    assert out.strip().splitlines()[-1] == expected()  # type: ignore[operator]


def test_command_line_still_runs_the_cli() -> None:
    done = subprocess.run([sys.executable, "-m", "aios_core", "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    assert "Usage" in done.stdout


def test_header_version_is_the_package_version(libaios: ctypes.CDLL) -> None:
    text = HEADER.read_text()
    assert re.search(r'#define AIOS_VERSION_STRING "([^"]+)"', text).group(1) == aios_core.__version__  # type: ignore[union-attr]
    libaios.aios_version_string.restype = ctypes.c_char_p
    assert libaios.aios_version_string().decode() == aios_core.__version__
    major, minor, patch = (int(x) for x in aios_core.__version__.split("."))
    assert libaios.aios_version() == major * 10000 + minor * 100 + patch


# ---------------------------------------------------------------- header and symbols


@pytest.mark.parametrize("language", ["c99", "c++17"])
def test_header_compiles_with_warnings_as_errors(language: str, tmp_path: Path) -> None:
    source = tmp_path / ("use.c" if language == "c99" else "use.cpp")
    # Uses every type and a function so that unused-declaration warnings cannot hide problems.
    source.write_text(
        "#include <aios/aios.h>\n#include <string.h>\n"
        "int main(void) {\n"
        "  aios_engine_desc desc;\n  aios_engine engine;\n  aios_engine_info info;\n"
        "  memset(&desc, 0, sizeof desc);\n  engine.id = 0;\n"
        "  aios_task_info task;\n  aios_plan_result plan;\n  aios_gpu_selection sel;\n"
        "  (void)desc; (void)info; (void)task; (void)plan; (void)sel;\n"
        "  return aios_engine_destroy(engine) == AIOS_ERR_INVALID_HANDLE ? 0 : 1;\n}\n"
    )
    compiler = c_compiler() if language == "c99" else cxx_compiler()
    std = "-std=c99" if language == "c99" else "-std=c++17"
    cmd = [compiler, std, "-Wall", "-Wextra", "-Werror", "-pedantic", f"-I{aios_core.get_include()}", "-c", str(source),
           "-o", str(tmp_path / "use.o")]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_library_exports_exactly_the_declared_functions() -> None:
    nm = tool("nm")
    if nm is None:
        pytest.skip("nm (binutils) is not installed")
    lib = Path(aios_core.get_lib_dir()) / aios_core.embed.library_name()
    out = subprocess.run([nm, "-D", "--defined-only", str(lib)], capture_output=True, text=True, check=True).stdout
    exported = {line.split()[-1] for line in out.splitlines() if line.split() and line.split()[1] in "TtWw"}
    assert exported == set(declared_functions(HEADER.read_text()))


# ---------------------------------------------------------------- examples agree with Python


def test_scenario_text_reads_back() -> None:
    scenario = random_scenario(np.random.default_rng(7))
    assert parse(scenario.text()).text() == scenario.text()


def test_c_example_places_the_demo_like_python(c_example: Path) -> None:
    text = (EXAMPLES / "input" / "demo.txt").read_text()
    assert output_lines([str(c_example)], text) == python_answer(parse(text))


@pytest.mark.parametrize("seed", range(SCENARIOS))
def test_c_example_matches_python(c_example: Path, seed: int) -> None:
    scenario = random_scenario(np.random.default_rng(seed))
    assert output_lines([str(c_example)], scenario.text()) == python_answer(scenario)


def test_go_example_places_the_demo_like_python(go_example: Path) -> None:
    text = (EXAMPLES / "input" / "demo.txt").read_text()
    assert output_lines([str(go_example)], text) == python_answer(parse(text))


@pytest.mark.parametrize("seed", range(SCENARIOS))
def test_go_example_matches_python(go_example: Path, seed: int) -> None:
    scenario = random_scenario(np.random.default_rng(1000 + seed))
    assert output_lines([str(go_example)], scenario.text()) == python_answer(scenario)


# ---------------------------------------------------------------- stateless calls agree with Python


def _i64(a: np.ndarray) -> ctypes.Array[ctypes.c_int64]:
    return (ctypes.c_int64 * max(1, a.size))(*a.ravel().tolist())


@pytest.mark.parametrize("seed", range(10))
def test_drf_matches_python(libaios: ctypes.CDLL, seed: int) -> None:
    rng = np.random.default_rng(seed)
    users, resources = int(rng.integers(1, 6)), int(rng.integers(1, 4))
    capacity = rng.integers(10, 1000, size=resources)
    demands = rng.integers(0, 50, size=(users, resources))
    demands[:, 0] += 1  # no all-zero demand row
    out = (ctypes.c_int64 * users)()
    status = libaios.aios_drf_tasks(users, resources, _i64(capacity), ctypes.c_size_t(resources), _i64(demands),
                                    ctypes.c_size_t(demands.size), None, ctypes.c_size_t(0), None, ctypes.c_size_t(0),
                                    out, ctypes.c_size_t(users))
    assert status == 0
    assert list(out) == drf(capacity, demands).tasks.tolist()


@pytest.mark.parametrize("seed", range(10))
def test_split_matches_python(libaios: ctypes.CDLL, seed: int) -> None:
    rng = np.random.default_rng(seed)
    costs = rng.random(int(rng.integers(1, 30)))
    k = int(rng.integers(1, len(costs) + 1))
    bottleneck = ctypes.c_double()
    bounds = (ctypes.c_int64 * (k + 1))()
    status = libaios.aios_split((ctypes.c_double * len(costs))(*costs), ctypes.c_size_t(len(costs)), ctypes.c_int64(k),
                                ctypes.byref(bottleneck), bounds, ctypes.c_size_t(k + 1))
    assert status == 0
    expected = split(costs, k)
    assert bottleneck.value == expected.bottleneck
    assert list(bounds) == expected.boundaries.tolist()
