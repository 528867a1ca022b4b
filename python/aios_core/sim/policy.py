"""Scheduling policy = a queue order x a placement policy (+ EASY backfilling, + preemption).

Spec strings: ``order[+easy[@N]][+preempt][:placement]``, e.g. ``fifo``, ``fifo+easy:best_fit``,
``drf:most_allocated``, ``priority+preempt``, ``sjf``; ``easy`` alone is FIFO with EASY; ``easy@30``
runs the backfill pass at most every 30 simulated seconds (Slurm's bf_interval). Orders:

- ``fifo``: arrival order.
- ``priority``: highest priority first, aged: a job gains one priority point per `aging_s` seconds
  waited (a uniform rate, so the order between two waiting jobs never changes and a static key does).
- ``sjf``: shortest duration first (the trace's duration: an oracle, not a prediction).
- ``drf``: the head job of the user with the lowest weighted dominant share of what runs now
  (Ghodsi et al.), each user's jobs in arrival order.

All orders are strict: when the head does not fit, nothing behind it starts, except jobs EASY
backfilling lets through (a reservation for the head, Slurm's rule). With ``+preempt`` a head that
does not fit evicts running jobs of strictly lower trace priority (the Placer's fewest-victims
choice); victims are killed and requeued, restarting from the beginning as Kubernetes pods do.
"""

from __future__ import annotations

from dataclasses import dataclass

from aios_core.errors import ConfigError
from aios_core.placer import POLICIES

ORDERS = ("fifo", "priority", "sjf", "drf")


@dataclass(frozen=True)
class Policy:
    order: str = "fifo"
    placement: str = "best_fit"
    backfill: bool = False
    preempt: bool = False
    aging_s: int = 3600  # priority: seconds of waiting worth one priority point
    backfill_depth: int = 100  # EASY: queued jobs tested per pass (Slurm's bf_max_job_test)
    backfill_interval_s: int = 0  # EASY: seconds between passes (Slurm's bf_interval); 0: every event

    def __post_init__(self) -> None:
        if self.order not in ORDERS:
            raise ConfigError(f"policy.order: unknown order {self.order!r} (known: {', '.join(ORDERS)})")
        if self.placement not in POLICIES:
            raise ConfigError(f"policy.placement: unknown placement {self.placement!r} (known: {', '.join(POLICIES)})")
        if self.backfill and self.order == "drf":
            raise ConfigError("policy.backfill: EASY backfilling needs a fifo, priority or sjf order, not drf")
        if self.aging_s < 1:
            raise ConfigError(f"policy.aging_s: must be >= 1, got {self.aging_s}")
        if self.backfill_depth < 1:
            raise ConfigError(f"policy.backfill_depth: must be >= 1, got {self.backfill_depth}")
        if self.backfill_interval_s < 0:
            raise ConfigError(f"policy.backfill_interval_s: must be >= 0, got {self.backfill_interval_s}")

    @property
    def name(self) -> str:
        easy = f"+easy@{self.backfill_interval_s}" if self.backfill_interval_s else "+easy"
        flags = (easy if self.backfill else "") + ("+preempt" if self.preempt else "")
        return f"{self.order}{flags}:{self.placement}"

    @classmethod
    def parse(cls, spec: str) -> Policy:
        """Read ``order[+easy][+preempt][:placement]``; bad specs raise ConfigError naming the spec."""
        head, _, placement = spec.strip().partition(":")
        order, *flags = head.split("+")
        if order.startswith("easy"):  # shorthand: FIFO with EASY backfilling
            order, flags = "fifo", [*flags, order]
        interval = 0
        for i, f in enumerate(flags):
            if f.startswith("easy@"):
                try:
                    interval = int(f[len("easy@"):])
                except ValueError:
                    raise ConfigError(f"policy {spec!r}: easy@N needs an integer N (seconds), got {f!r}") from None
                flags[i] = "easy"
        unknown = [f for f in flags if f not in ("easy", "preempt")]
        if unknown:
            raise ConfigError(f"policy {spec!r}: unknown flag(s) {unknown} (known: easy, easy@N, preempt)")
        try:
            return cls(order=order, placement=placement or "best_fit", backfill="easy" in flags,
                       preempt="preempt" in flags, backfill_interval_s=interval)
        except ConfigError as exc:
            raise ConfigError(f"policy {spec!r}: {exc}") from None


DEFAULT_POLICIES = ("fifo:best_fit", "easy:best_fit", "sjf:best_fit", "drf:best_fit", "priority+preempt:best_fit",
                    "fifo:worst_fit")
