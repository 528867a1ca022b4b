"""aios-core: a scheduling kernel for AI clusters."""
from aios_core.errors import AiosError, ConfigError, NotFoundError, TopologyError, UnschedulableError

__all__ = ["AiosError", "ConfigError", "NotFoundError", "TopologyError", "UnschedulableError"]
