"""aios-core: a scheduling kernel for AI clusters (native C++ core, typed Python API)."""

import logging

from aios_core.cluster import Cluster, Node, Taint, Toleration
from aios_core.errors import AiosError, ConfigError, NotFoundError, TopologyError, UnschedulableError
from aios_core.placer import POLICIES, Constraints, FgdWorkload, GangResult, Placer, Preemption, TaskPlacement
from aios_core.embed import get_cmake_dir, get_include, get_lib_dir

logging.getLogger("aios_core").addHandler(logging.NullHandler())

__version__ = "0.1.0"

__all__ = [
    "POLICIES",
    "AiosError",
    "Cluster",
    "ConfigError",
    "Constraints",
    "FgdWorkload",
    "GangResult",
    "Node",
    "NotFoundError",
    "Placer",
    "Preemption",
    "Taint",
    "TaskPlacement",
    "Toleration",
    "TopologyError",
    "UnschedulableError",
    "get_cmake_dir",
    "get_include",
    "get_lib_dir",
]
