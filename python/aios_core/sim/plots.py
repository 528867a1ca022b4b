"""Matplotlib PNG plots of simulation results (Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from aios_core.errors import ConfigError
from aios_core.sim.result import SimResult


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_results(results: Sequence[SimResult], out: Path, metrics: Sequence[dict[str, Any]] | None = None) -> list[Path]:
    """Write utilisation.png, jct_cdf.png, user_shares.png and policies.png into `out`; returns
    their paths. `metrics`: the results' metrics() when already computed."""
    if not results:
        raise ConfigError("results: nothing to plot (no simulation results given)")
    plt = _pyplot()
    out.mkdir(parents=True, exist_ok=True)
    paths = []

    fig, axes = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    for ax, (resource, label) in zip(axes, [("nvidia.com/gpu", "GPU"), ("cpu", "CPU")]):
        for r in results:
            if resource not in r.resources:
                continue
            k = r.resources.index(resource)
            hours = (r.timeline_t - r.timeline_t[0]) / 3600 if r.timeline_t.size else r.timeline_t
            ax.step(hours, r.timeline_alloc[:, k] / max(1, int(r.capacity[k])), where="post", label=r.policy, lw=0.8)
        ax.set(ylabel=f"{label} allocated (fraction)", title=f"{label} utilisation over time")
        if ax.lines:
            ax.legend(fontsize=7)
    axes[-1].set_xlabel("simulated time (h)")
    paths.append(out / "utilisation.png")
    fig.savefig(paths[-1], dpi=110, bbox_inches="tight")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    for r in results:
        fin = r.finished
        jct = np.sort(r.end[fin] - r.trace.arrival[fin])
        if jct.size:
            ax.step(jct, np.arange(1, jct.size + 1) / jct.size, where="post", label=r.policy, lw=0.8)
    ax.set(xscale="log", xlabel="job completion time (s)", ylabel="fraction of jobs", title="JCT CDF")
    ax.legend(fontsize=7)
    paths.append(out / "jct_cdf.png")
    fig.savefig(paths[-1], dpi=110, bbox_inches="tight")
    plt.close(fig)

    metrics = list(metrics) if metrics is not None else [r.metrics() for r in results]
    fig, axes = plt.subplots(len(results), 1, figsize=(8, 2.2 * len(results)), squeeze=False, sharex=True)
    for ax, r, m in zip(axes[:, 0], results, metrics):
        resource = m["share_resource"]  # GPUs, or CPUs on a cluster without GPUs
        if r.timeline_t.size and resource in r.trace.resources:
            times = np.linspace(int(r.timeline_t[0]), int(r.timeline_t[-1]), 300)
            alloc = r.user_allocation(times, resource)
            top = np.argsort(-alloc.sum(axis=1))[:8]  # the busiest users; the rest as "others"
            rest = np.delete(alloc, top, axis=0).sum(axis=0)
            labels = [r.trace.users[u] for u in top] + (["others"] if rest.any() else [])
            stack = [alloc[u] for u in top] + ([rest] if rest.any() else [])
            ax.stackplot((times - times[0]) / 3600, *stack, labels=labels)
        ax.set(ylabel=f"{'GPU' if resource == 'nvidia.com/gpu' else resource.upper()} share", title=r.policy)
        ax.title.set_fontsize(8)
    axes[0, 0].legend(fontsize=6, loc="upper right", ncol=3)
    axes[-1, 0].set_xlabel("simulated time (h)")
    paths.append(out / "user_shares.png")
    fig.savefig(paths[-1], dpi=110, bbox_inches="tight")
    plt.close(fig)

    names = [m["policy"] for m in metrics]
    panels = [("mean JCT (s)", "jct_s", "mean"), ("mean queueing delay (s)", "queueing_delay_s", "mean"),
              ("GPU utilisation", "gpu_utilisation", ""), ("largest share deviation", "share_deviation_max", "")]
    fig, axes = plt.subplots(1, len(panels), figsize=(16, 4))
    for ax, (label, key, stat) in zip(axes, panels):
        vals = [m[key][stat] if stat else m[key] for m in metrics]
        ax.bar(range(len(names)), vals)
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=7)
        ax.set_title(label)
    paths.append(out / "policies.png")
    fig.savefig(paths[-1], dpi=110, bbox_inches="tight")
    plt.close(fig)
    return paths
