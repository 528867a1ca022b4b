"""The local GPU executor: one machine's GPUs shared by a queue with aios-core's policies.

``aios local serve`` runs :class:`~aios_core.local.daemon.Daemon`; :class:`Client` talks to it.
Install with ``pip install aios-core[nvml]`` for NVML discovery.
"""

from aios_core.local.client import Client
from aios_core.local.protocol import PermissionDeniedError, parse_size
from aios_core.local.store import JobState

__all__ = ["Client", "JobState", "PermissionDeniedError", "parse_size"]
