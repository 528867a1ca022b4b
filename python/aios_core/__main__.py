"""`python -m aios_core` runs the `aios` command; `--include-dir`, `--lib-dir` and `--cmake-dir`
alone print where the C API is installed (for build scripts) instead."""

import sys

from aios_core import embed

_DIR_FLAGS = {"--include-dir": embed.get_include, "--lib-dir": embed.get_lib_dir, "--cmake-dir": embed.get_cmake_dir}

if len(sys.argv) == 2 and sys.argv[1] in _DIR_FLAGS:
    print(_DIR_FLAGS[sys.argv[1]]())
else:
    from aios_core.cli import main

    main()
