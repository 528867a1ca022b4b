"""Fair share, quotas and priority: DRF (weighted, continuous, hierarchical), Slurm fair share
(Fair Tree, classic, decay, multifactor, sshare), Kueue-style capacity queues, Gavel max-min
fairness and a combined pending-job queue. Import as ``aios_core.fairshare``."""

from aios_core.fairshare.capacity import (
    Admission,
    BatchAdmission,
    CapacityModel,
    ClusterQueue,
    Cohort,
    PreemptionPlan,
    Quota,
    capacity_arrays,
)
from aios_core.fairshare.drf import DrfResult, drf, drf_continuous, hierarchical_drf
from aios_core.fairshare.gavel import GavelAllocation, max_min_fairness
from aios_core.fairshare.priority import PendingJob, PendingQueue, PriorityWeights, multifactor_priority, tres_billing
from aios_core.fairshare.slurm import (
    Association,
    AssociationTree,
    FairShareTable,
    SshareRow,
    accrue_usage,
    classic_fair_share,
    decay_factor,
    decay_usage,
    fair_tree,
)

__all__ = [
    "Admission", "Association", "AssociationTree", "BatchAdmission", "CapacityModel", "ClusterQueue", "Cohort",
    "DrfResult", "FairShareTable", "GavelAllocation", "PendingJob", "PendingQueue", "PreemptionPlan",
    "PriorityWeights", "Quota", "SshareRow", "accrue_usage", "capacity_arrays", "classic_fair_share",
    "decay_factor", "decay_usage", "drf", "drf_continuous", "fair_tree", "hierarchical_drf",
    "max_min_fairness", "multifactor_priority", "tres_billing",
]
