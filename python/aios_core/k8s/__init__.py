"""Kubernetes adapter (the `aios-core[k8s]` extra): a kube-scheduler extender, a secondary
scheduler and an offline planner over `kubectl get -o json` snapshots.

Submodules import the optional packages (`kubernetes`, `aiohttp`, `prometheus_client`) only where
they need them; `require()` gives a clear message when the extra is missing.
"""

from __future__ import annotations

import importlib

EXTRA_PACKAGES = ("kubernetes", "aiohttp", "prometheus_client")


def require() -> None:
    """Raise ImportError naming the extra when one of its packages is missing."""
    for name in EXTRA_PACKAGES:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ImportError(f"aios_core.k8s needs the 'k8s' extra: pip install 'aios-core[k8s]' (missing {name})") from exc
