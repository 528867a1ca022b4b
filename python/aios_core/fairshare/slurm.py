"""Slurm fair share: association trees, Fair Tree, the classic factor, usage decay and sshare output.

Formulas follow Slurm's documentation (``fair_tree.shtml``, ``classic_fair_share.shtml``,
``priority_multifactor.shtml``, ``sshare(1)``). Level fair share is computed in IEEE double
(Slurm uses long double), so ties that only rounding separates may fall differently.
Fair Tree ties follow Slurm's code (``fair_tree.c``): sibling users with equal level FS share a
rank, a user ties with an equal sibling account's first user, and a tie between sibling accounts
is carried into the later account's first child; the children lists of tied accounts are not
merged (the docs say they are, the code stops before merging).
Not modelled: ``Fairshare=parent`` associations and the depth-oblivious variant.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from typing import Any, Literal, Sequence

import numpy as np
import numpy.typing as npt

from aios_core.errors import ConfigError, NotFoundError
from aios_core.fairshare._checks import as_flags, as_float64, as_index, as_int64

_core: Any = importlib.import_module("aios_core._core")  # compiled; typed as Any

__all__ = [
    "Association",
    "AssociationTree",
    "FairShareTable",
    "SshareRow",
    "fair_tree",
    "classic_fair_share",
    "decay_factor",
    "decay_usage",
    "accrue_usage",
]


@dataclass(frozen=True)
class Association:
    """One Slurm association: an account (``user`` None) or a user under ``account``.

    For an account, ``parent`` names its parent account (None only for ``root``). ``usage`` is the
    association's own raw usage (billable TRES-seconds, decayed); accounts add their children's.
    """

    account: str
    user: str | None = None
    parent: str | None = None
    shares: int = 1
    usage: float = 0.0


@dataclass(frozen=True)
class AssociationTree:
    """Validated association tree as arrays (index 0..n-1); ``names`` are (account, user) pairs."""

    parent: npt.NDArray[np.int32]
    shares: npt.NDArray[np.int64]
    usage: npt.NDArray[np.float64]
    is_user: npt.NDArray[np.uint8]
    names: tuple[tuple[str, str | None], ...] = field(default=())

    @staticmethod
    def from_arrays(parent: Any, shares: Any, usage: Any, is_user: Any) -> "AssociationTree":
        par = as_index(parent, "parent")
        n = par.shape[0]
        sh = as_int64(shares, "shares", ndim=1, shape=(n,))
        us = as_float64(usage, "usage", ndim=1, shape=(n,))
        if n and us.min() < 0:
            i = int(us.argmin())
            raise ConfigError(f"usage[{i}]: must be >= 0, got {us[i]}")
        iu = as_flags(is_user, "is_user", n)
        return AssociationTree(par, sh, us, iu, tuple((f"assoc{i}", None) for i in range(n)))

    @staticmethod
    def from_associations(associations: Sequence[Association]) -> "AssociationTree":
        accounts: dict[str, int] = {}
        for i, a in enumerate(associations):
            if a.user is None:
                if a.account in accounts:
                    raise ConfigError(f"associations[{i}]: account {a.account!r} is defined twice")
                accounts[a.account] = i
        parent = np.empty(len(associations), dtype=np.int32)
        seen_users: set[tuple[str, str]] = set()
        for i, a in enumerate(associations):
            if not isinstance(a.shares, (int, np.integer)) or isinstance(a.shares, bool):
                raise ConfigError(f"associations[{i}].shares: expected an integer, got {a.shares!r}")
            if a.user is None:
                if a.parent is None:
                    parent[i] = -1
                elif a.parent not in accounts:
                    raise NotFoundError(f"associations[{i}].parent: unknown account {a.parent!r}")
                else:
                    parent[i] = accounts[a.parent]
            else:
                if a.account not in accounts:
                    raise NotFoundError(f"associations[{i}].account: unknown account {a.account!r} for user {a.user!r}")
                if (a.account, a.user) in seen_users:
                    raise ConfigError(f"associations[{i}]: user {a.user!r} appears twice under {a.account!r}")
                seen_users.add((a.account, a.user))
                parent[i] = accounts[a.account]
        tree = AssociationTree.from_arrays(
            parent,
            np.array([a.shares for a in associations], dtype=np.int64),
            np.array([float(a.usage) for a in associations], dtype=np.float64),
            np.array([a.user is not None for a in associations], dtype=np.uint8),
        )
        return AssociationTree(tree.parent, tree.shares, tree.usage, tree.is_user, tuple((a.account, a.user) for a in associations))

    def index(self, account: str, user: str | None = None) -> int:
        for i, nm in enumerate(self.names):
            if nm == (account, user):
                return i
        raise NotFoundError(f"association: unknown account {account!r}" + (f" user {user!r}" if user else ""))

    def with_usage(self, usage: Any) -> "AssociationTree":
        t = AssociationTree.from_arrays(self.parent, self.shares, usage, self.is_user)
        return AssociationTree(t.parent, t.shares, t.usage, t.is_user, self.names)


@dataclass(frozen=True)
class SshareRow:
    account: str
    user: str | None
    depth: int
    raw_shares: int | None
    norm_shares: float
    raw_usage: float
    norm_usage: float
    effective_usage: float
    level_fs: float | None
    fair_share: float | None


@dataclass(frozen=True)
class FairShareTable:
    """sshare's columns per association (NaN where sshare prints nothing)."""

    tree: AssociationTree
    algorithm: Literal["fair_tree", "classic"]
    norm_shares: npt.NDArray[np.float64]
    raw_usage: npt.NDArray[np.float64]
    norm_usage: npt.NDArray[np.float64]
    effective_usage: npt.NDArray[np.float64]
    level_fs: npt.NDArray[np.float64]
    fair_share: npt.NDArray[np.float64]

    def rows(self) -> list[SshareRow]:
        """Rows in sshare's order: depth first, users before sub-accounts, each by name."""
        t = self.tree
        n = t.parent.shape[0]
        kids: list[list[int]] = [[] for _ in range(n)]
        root = -1
        for i in range(n):
            p = int(t.parent[i])
            if p < 0:
                root = i
            else:
                kids[p].append(i)
        out: list[SshareRow] = []
        stack = [(root, 0)]
        while stack:
            v, d = stack.pop()
            acct, user = t.names[v]
            lf = float(self.level_fs[v])
            fs = float(self.fair_share[v])
            out.append(
                SshareRow(
                    account=acct,
                    user=user,
                    depth=d,
                    raw_shares=None if t.parent[v] < 0 else int(t.shares[v]),
                    norm_shares=float(self.norm_shares[v]),
                    raw_usage=float(self.raw_usage[v]),
                    norm_usage=float(self.norm_usage[v]),
                    effective_usage=float(self.effective_usage[v]),
                    level_fs=None if math.isnan(lf) else lf,
                    fair_share=None if math.isnan(fs) else fs,
                )
            )
            order = sorted(kids[v], key=lambda c: (not t.is_user[c], t.names[c][1] or t.names[c][0]))
            stack.extend((c, d + 1) for c in reversed(order))
        return out

    def sshare(self, long: bool = False) -> str:
        """Text like ``sshare -a -P -o Account,User,RawShares,NormShares,RawUsage,EffectvUsage,FairShare``
        (``long``: ``-l`` adds NormUsage and LevelFS)."""
        cols = ["Account", "User", "RawShares", "NormShares", "RawUsage"]
        cols += ["NormUsage", "EffectvUsage", "FairShare", "LevelFS"] if long else ["EffectvUsage", "FairShare"]
        lines = ["|".join(cols)]
        for r in self.rows():
            is_root = r.raw_shares is None
            cells = [
                " " * r.depth + r.account,
                r.user or "",
                "" if is_root else str(r.raw_shares),
                "0.000000" if is_root else f"{r.norm_shares:.6f}",
                str(int(r.raw_usage)),
            ]
            if long:
                cells.append(f"{r.norm_usage:.6f}")
            cells.append(f"{r.effective_usage:.6f}")
            cells.append("" if r.fair_share is None else f"{r.fair_share:.6f}")
            if long:
                cells.append("" if r.level_fs is None else ("inf" if math.isinf(r.level_fs) else f"{r.level_fs:.6f}"))
            lines.append("|".join(cells))
        return "\n".join(lines)


def _tree(tree: AssociationTree | Sequence[Association]) -> AssociationTree:
    return tree if isinstance(tree, AssociationTree) else AssociationTree.from_associations(tree)


def fair_tree(tree: AssociationTree | Sequence[Association]) -> FairShareTable:
    """Fair Tree: level FS = (shares / siblings' shares) / (usage / parent's usage); depth-first
    ranking with siblings by level FS (ties: users first); factor = rank / number of users."""
    t = _tree(tree)
    cols = _core.fair_tree(t.parent, t.shares, t.usage, t.is_user)
    return FairShareTable(t, "fair_tree", *cols)


def classic_fair_share(tree: AssociationTree | Sequence[Association], dampening: float = 1.0) -> FairShareTable:
    """Classic factor 2^(-U_E / S / dampening) with S the product of level shares down the tree and
    U_E the effective usage propagated from the parent (``PriorityFlags=NO_FAIR_TREE``)."""
    t = _tree(tree)
    cols = _core.classic_fair_share(t.parent, t.shares, t.usage, t.is_user, float(dampening))
    return FairShareTable(t, "classic", *cols)


Approximation = Literal["exact", "slurm"]


def decay_factor(elapsed_s: float, half_life_s: float, approximation: Approximation = "exact") -> float:
    """Multiplier for usage after ``elapsed_s`` seconds: exact ``2^(-t/hl)`` or Slurm's per-second
    ``(1 - 0.693/hl)^t``. A half-life of 0 disables decay (factor 1)."""
    if not (math.isfinite(elapsed_s) and elapsed_s >= 0):
        raise ConfigError(f"elapsed_s: must be finite and >= 0, got {elapsed_s}")
    if not (math.isfinite(half_life_s) and half_life_s >= 0):
        raise ConfigError(f"half_life_s: must be finite and >= 0, got {half_life_s}")
    if half_life_s == 0:
        return 1.0
    if approximation == "exact":
        return float(2.0 ** (-elapsed_s / half_life_s))
    if approximation == "slurm":
        return float((1.0 - 0.693 / half_life_s) ** elapsed_s)
    raise ConfigError(f"approximation: expected 'exact' or 'slurm', got {approximation!r}")


def decay_usage(usage: Any, elapsed_s: float, half_life_s: float, approximation: Approximation = "exact") -> npt.NDArray[np.float64]:
    """Usage after decaying for ``elapsed_s`` seconds (PriorityDecayHalfLife)."""
    u = as_float64(usage, "usage")
    if u.size and u.min() < 0:
        raise ConfigError(f"usage: must be >= 0, got {u.min()}")
    return u * decay_factor(elapsed_s, half_life_s, approximation)


def accrue_usage(
    usage: Any,
    elapsed_s: float,
    billing: Any,
    half_life_s: float,
    approximation: Approximation = "exact",
    usage_factor: float = 1.0,
) -> npt.NDArray[np.float64]:
    """One PriorityCalcPeriod: ``usage * d + elapsed * d * billing * usage_factor`` with
    ``d = decay_factor(elapsed)``; ``billing`` is each association's running billable TRES."""
    u = as_float64(usage, "usage")
    b = as_float64(billing, "billing", shape=u.shape)
    if u.size and u.min() < 0:
        raise ConfigError(f"usage: must be >= 0, got {u.min()}")
    if b.size and b.min() < 0:
        raise ConfigError(f"billing: must be >= 0, got {b.min()}")
    if not (math.isfinite(usage_factor) and usage_factor >= 0):
        raise ConfigError(f"usage_factor: must be finite and >= 0, got {usage_factor}")
    return accrue_unchecked(u, elapsed_s, b, decay_factor(elapsed_s, half_life_s, approximation), usage_factor)


def accrue_unchecked(usage: npt.NDArray[np.float64], elapsed_s: float, billing: npt.NDArray[np.float64],
                     decay: float, usage_factor: float = 1.0) -> npt.NDArray[np.float64]:
    """`accrue_usage`'s arithmetic for valid float64 arrays and a decay factor (`decay_factor`),
    without its checks: for callers that accrue at every simulated step."""
    out: npt.NDArray[np.float64] = usage * decay + elapsed_s * decay * billing * usage_factor
    return out
