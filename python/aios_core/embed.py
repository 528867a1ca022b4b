"""Where the C API of aios-core is installed, for schedulers that embed the kernel without Python.

The wheel ships `aios_core/include/aios/aios.h`, the shared library `aios_core/lib/libaios.so` and a
CMake package in `aios_core/lib/cmake/aios` (`find_package(aios CONFIG)` gives `aios::aios`).
`python -m aios_core --include-dir / --lib-dir / --cmake-dir` print the same paths. See
docs/c-api.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

import aios_core

__all__ = ["get_cmake_dir", "get_include", "get_lib_dir", "library_name"]


def library_name() -> str:
    """The file name of the shared library on this platform."""
    if sys.platform == "darwin":
        return "libaios.dylib"
    if sys.platform == "win32":
        return "aios.dll"
    return "libaios.so"


def _installed(relative: str) -> Path:
    # A wheel has one package directory; an editable install adds its build's install tree.
    for directory in aios_core.__path__:
        candidate = Path(directory) / relative
        if candidate.is_file():
            return candidate
    searched = ", ".join(aios_core.__path__)
    raise FileNotFoundError(f"aios_core: {relative} is not installed (searched {searched}); reinstall aios-core")


def get_include() -> str:
    """The directory to add to the include path so that `#include <aios/aios.h>` works."""
    return str(_installed("include/aios/aios.h").parent.parent)


def get_lib_dir() -> str:
    """The directory holding the shared library (link with -L<dir> -laios, and add it to the rpath)."""
    return str(_installed(f"lib/{library_name()}").parent)


def get_cmake_dir() -> str:
    """The directory of aiosConfig.cmake: pass it as -Daios_DIR=<dir> to find_package(aios CONFIG)."""
    return str(_installed("lib/cmake/aios/aiosConfig.cmake").parent)
