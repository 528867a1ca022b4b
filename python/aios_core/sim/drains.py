"""Node drains and returns from a CSV file, for replaying failures and maintenance.

Format: a header ``time,node,event``, then one row per event: integer seconds >= 0, a node name of
the cluster, and ``down`` (the node fails: cordoned, its jobs killed and requeued), ``drain`` (it is
cordoned and its jobs run to their end) or ``up`` (it returns). Every malformed row raises ConfigError naming the file, the line and the value.
"""

from __future__ import annotations

from pathlib import Path

from aios_core.cluster import Cluster
from aios_core.errors import ConfigError
from aios_core.sim.engine import NodeEvent
from aios_core.sim.readers import MAX_TIME, _int, _open_csv

NODE_EVENT_COLUMNS = ("time", "node", "event")
_STATES = {"down": (False, False), "drain": (False, True), "up": (True, False)}  # (up, graceful)


def read_node_events(path: str | Path, cluster: Cluster | None = None) -> list[NodeEvent]:
    """The events of `path`; with `cluster`, every node must be one of its nodes."""
    p = Path(path)
    header, rows = _open_csv(p)
    if header != list(NODE_EVENT_COLUMNS):
        raise ConfigError(f"{p}:1: expected the header {','.join(NODE_EVENT_COLUMNS)}, got {','.join(header)}")
    names = set(cluster.names) if cluster is not None else None
    out = []
    for line, (time, node, event) in rows:
        where = f"{p}:{line}"
        t = _int(time, where, "time", None)
        if not 0 <= t <= MAX_TIME:
            raise ConfigError(f"{where}: column 'time' must be in 0..2^42 seconds, got {t}")
        node = node.strip()
        if names is not None and node not in names:
            raise ConfigError(f"{where}: column 'node': no node {node!r} in the cluster")
        state = event.strip().lower()
        if state not in _STATES:
            raise ConfigError(f"{where}: column 'event' expects 'down', 'drain' or 'up', got {event!r}")
        up, graceful = _STATES[state]
        out.append(NodeEvent(t, node, up, graceful))
    return out
