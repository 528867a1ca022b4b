"""Scheduling policy = a queue order x a placement policy (+ EASY backfilling, + preemption).

Spec strings: ``order[@args][+easy[@N]][+preempt][+predict][+rigid][+promote@K][+topo@LEVEL][:placement]``,
e.g. ``fifo``, ``fifo+easy:best_fit``, ``drf:most_allocated``, ``priority+preempt``, ``sjf+predict``,
``las@3600,36000``, ``las@3600+promote@2``, ``kueue+preempt``, ``priority+preempt+topo@rack``;
``easy`` alone is FIFO with EASY; ``easy@30`` runs the backfill pass at most every 30 simulated
seconds (Slurm's bf_interval). Orders:

- ``fifo``: arrival order.
- ``priority``: highest priority first, aged: a job gains one priority point per `aging_s` seconds
  waited (a uniform rate, so the order between two waiting jobs never changes and a static key does).
- ``sjf``: shortest duration first (the trace's duration: an oracle, not a prediction).
- ``drf``: the head job of the user with the lowest weighted dominant share of what runs now
  (Ghodsi et al.), each user's jobs in arrival order.
- ``fairtree``: the head job of the user with the highest Slurm Fair Tree factor, from usage
  accrued with a half-life of `fairtree_half_life_s` (see `aios_core.sim.orders`).
- ``kueue``: one Kueue ClusterQueue per user in one cohort, nominal quota = the user's weighted
  share of the cluster, borrowing unlimited; admission by Kueue's fair-sharing cycles (see
  `aios_core.sim.kueue`). ``kueue+preempt`` adds Kueue's preemption: reclaim within the cohort
  (any priority) and lower priority within a queue; victims are requeued and restart.
- ``las``: Tiresias' discretised 2D-LAS: queues by attained GPU-seconds split at
  `las_thresholds` (``las@T1,T2,...``), preemptive by suspension (jobs keep their progress); jobs
  that do not fit are skipped, up to `backfill_depth` of them per pass. ``+promote@K`` adds
  Tiresias' starvation guard (`las_promote_knob`, PROMOTEKNOB): a waiting job outside Q0 goes back
  to Q0 once it has waited K times as long as it has run, both since its last promotion (see
  `aios_core.sim.orders.LasRunning`). Off by default (0), as in the Tiresias authors' simulator,
  whose ``dlas-gpu`` runs without it and whose ``dlas-gpu-K`` variants turn it on.

``+predict``: SJF orders by, and EASY plans with, durations predicted online from jobs already
finished (`aios_core.sim.predict`) instead of the trace's true durations (an oracle).
Elastic jobs (`JobTrace.max_gang`) grow while nothing waits and shrink to their minimum to let a
waiting job in (`aios_core.sim.engine`); ``+rigid`` keeps them at their minimum. Their speed with m
members is (m / gang) ** `elastic_alpha` times the speed at the minimum gang.
With GPU model speeds (`JobTrace.model_speed`) a job runs at its slowest member's model speed
times that; SJF and EASY then plan with its run time on the slowest GPU model it may be placed on
(`aios_core.sim.model_speed`), which with ``+predict`` scales the predicted duration likewise.

``+topo@LEVEL`` places every gang inside one domain of that topology level of the cluster (e.g.
``rack``; Kueue's required topology), ``+topo~LEVEL`` prefers one (the lowest level that holds it,
else anywhere; Kueue's preferred topology). Preemption for a gang with a required level looks for
victims inside one domain.

All orders are strict: when the head does not fit, nothing behind it starts, except jobs EASY
backfilling lets through (a reservation for the head, Slurm's rule). With ``+preempt`` a head that
does not fit evicts running jobs of strictly lower trace priority (the Placer's fewest-victims
choice); victims are killed and requeued, restarting from the beginning as Kubernetes pods do.
"""

from __future__ import annotations

from dataclasses import dataclass

from aios_core.errors import ConfigError
from aios_core.placer import POLICIES

ORDERS = ("fifo", "priority", "sjf", "drf", "fairtree", "kueue", "las")
_NO_BACKFILL = ("drf", "fairtree", "kueue", "las")
DEFAULT_LAS_THRESHOLDS: tuple[int, ...] = (3600,)  # GPU-seconds: two queues split at one GPU-hour (our default)


@dataclass(frozen=True)
class Policy:
    order: str = "fifo"
    placement: str = "best_fit"
    backfill: bool = False
    preempt: bool = False
    aging_s: int = 3600  # priority: seconds of waiting worth one priority point
    backfill_depth: int = 100  # EASY: queued jobs tested per pass (Slurm's bf_max_job_test)
    backfill_interval_s: int = 0  # EASY: seconds between passes (Slurm's bf_interval); 0: every event
    predict: bool = False  # SJF / EASY on online-predicted durations instead of the trace's
    elastic: bool = True  # grow and shrink elastic jobs (False: they run at their minimum)
    elastic_alpha: float = 0.8  # speed with m members = (m / gang) ** alpha at the minimum's speed
    las_thresholds: tuple[int, ...] = DEFAULT_LAS_THRESHOLDS  # GPU-seconds between LAS queues
    fairtree_half_life_s: int = 7 * 86400  # Slurm's default PriorityDecayHalfLife (7 days); 0: none
    gang_topology: str = ""  # gangs go in one domain of this topology level ("": anywhere)
    gang_topology_required: bool = True  # False: the level is preferred, the whole cluster the fallback
    las_promote_knob: int = 0  # Tiresias' PROMOTEKNOB: promote after waiting K x the time run; 0: off

    def __post_init__(self) -> None:
        if self.order not in ORDERS:
            raise ConfigError(f"policy.order: unknown order {self.order!r} (known: {', '.join(ORDERS)})")
        if self.placement not in POLICIES:
            raise ConfigError(f"policy.placement: unknown placement {self.placement!r} (known: {', '.join(POLICIES)})")
        if self.backfill and self.order in _NO_BACKFILL:
            raise ConfigError(f"policy.backfill: EASY backfilling needs a fifo, priority or sjf order, not {self.order}")
        if self.preempt and self.order == "las":
            raise ConfigError("policy.preempt: las preempts by itself (suspending lower queues); drop +preempt")
        if self.predict and not (self.order == "sjf" or self.backfill):
            raise ConfigError(f"policy.predict: predictions serve sjf and EASY backfilling, not {self.order} alone")
        if not all(isinstance(x, int) and x > 0 for x in self.las_thresholds) or list(self.las_thresholds) != sorted(
                set(self.las_thresholds)):
            raise ConfigError(f"policy.las_thresholds: expected increasing positive integers, got {self.las_thresholds}")
        if not isinstance(self.las_promote_knob, int) or self.las_promote_knob < 0:
            raise ConfigError(f"policy.las_promote_knob: expected an integer >= 0 (0: off), got {self.las_promote_knob!r}")
        if self.las_promote_knob and self.order != "las":
            raise ConfigError(f"policy.las_promote_knob: starvation promotion belongs to las, not {self.order}")
        if self.fairtree_half_life_s < 0:
            raise ConfigError(f"policy.fairtree_half_life_s: must be >= 0, got {self.fairtree_half_life_s}")
        if not 0 < self.elastic_alpha <= 1:
            raise ConfigError(f"policy.elastic_alpha: must be in (0, 1], got {self.elastic_alpha}")
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
        flags += ("+predict" if self.predict else "") + ("" if self.elastic else "+rigid")
        if self.gang_topology:
            flags += ("+topo@" if self.gang_topology_required else "+topo~") + self.gang_topology
        flags += f"+promote@{self.las_promote_knob}" if self.las_promote_knob else ""
        order = self.order
        if order == "las" and self.las_thresholds != DEFAULT_LAS_THRESHOLDS:
            order += "@" + ",".join(str(x) for x in self.las_thresholds)
        return f"{order}{flags}:{self.placement}"

    @classmethod
    def parse(cls, spec: str) -> Policy:
        """Read ``order[@args][+easy[@N]][+preempt][+predict][+rigid][+promote@K][+topo@LEVEL][:placement]``; bad specs raise
        ConfigError naming the spec."""
        head, _, placement = spec.strip().partition(":")
        order, *flags = head.split("+")
        order, at, args = order.partition("@")
        thresholds: tuple[int, ...] = DEFAULT_LAS_THRESHOLDS
        if at and order != "las":
            order = order + at + args  # easy@N shorthand, or an unknown order named in full below
        elif at:
            try:
                thresholds = tuple(int(x) for x in args.split(","))
            except ValueError:
                raise ConfigError(f"policy {spec!r}: las@T1,T2,... needs integer GPU-seconds, got {args!r}") from None
        if order.startswith("easy"):  # shorthand: FIFO with EASY backfilling
            order, flags = "fifo", [*flags, order]
        interval = knob = 0
        topology, required = "", True
        for i, f in enumerate(flags):
            if f.startswith(("topo@", "topo~")) and len(f) > 5:
                topology, required, flags[i] = f[5:], f[4] == "@", "topo"
                continue
            if f.startswith("easy@"):
                try:
                    interval = int(f[len("easy@"):])
                except ValueError:
                    raise ConfigError(f"policy {spec!r}: easy@N needs an integer N (seconds), got {f!r}") from None
                flags[i] = "easy"
            elif f.startswith("promote@"):
                try:
                    knob = int(f[len("promote@"):])
                except ValueError:
                    raise ConfigError(f"policy {spec!r}: promote@K needs an integer K (PROMOTEKNOB), got {f!r}") from None
                flags[i] = "promote"
            elif f == "promote":
                raise ConfigError(f"policy {spec!r}: promote needs its knob, promote@K (an integer K >= 1)")
        unknown = [f for f in flags if f not in ("easy", "preempt", "predict", "rigid", "promote", "topo")]
        if unknown:
            raise ConfigError(f"policy {spec!r}: unknown flag(s) {unknown} "
                              "(known: easy, easy@N, preempt, predict, rigid, promote@K, topo@LEVEL, topo~LEVEL)")
        try:
            return cls(order=order, placement=placement or "best_fit", backfill="easy" in flags,
                       preempt="preempt" in flags, backfill_interval_s=interval, predict="predict" in flags,
                       elastic="rigid" not in flags, las_thresholds=thresholds, las_promote_knob=knob,
                       gang_topology=topology, gang_topology_required=required)
        except ConfigError as exc:
            raise ConfigError(f"policy {spec!r}: {exc}") from None


DEFAULT_POLICIES = ("fifo:best_fit", "easy:best_fit", "sjf:best_fit", "drf:best_fit", "priority+preempt:best_fit",
                    "fifo:worst_fit")
