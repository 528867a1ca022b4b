"""Trace-driven cluster simulator: replay a job trace under a queue order x placement policy."""

from aios_core.sim.engine import NodeEvent, simulate
from aios_core.sim.policy import DEFAULT_POLICIES, ORDERS, Policy
from aios_core.sim.result import SimResult, jain_index
from aios_core.sim.trace import JobTrace

__all__ = ["DEFAULT_POLICIES", "ORDERS", "JobTrace", "NodeEvent", "Policy", "SimResult", "jain_index", "simulate"]
