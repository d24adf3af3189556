"""Incubator siting: location models on a sparse demand × candidate reach matrix.

The core works on matrices (no geometry): a boolean reach matrix
(demand × candidate), demand weights and the demand already served by the
existing incubators, which are always kept. Models:

* **MCLP** (maximal covering): choose ``k`` new sites that maximise weighted
  covered demand;
* **LSCP** (set covering, partial): the fewest new sites that reach a target
  covered share;
* **p-median** (with existing fixed): choose ``k`` sites minimising weighted
  travel time, solved as maximising the time saved over the existing sites.

Exact solutions use a MILP (HiGHS via :func:`scipy.optimize.milp`) with a time
limit; the fast heuristic is greedy plus 1-swap improvement. Every answer
carries an upper bound (LP relaxation and/or the submodular greedy bound
``f(S) + top-k marginal gains``) and the proven gap. Identical demand rows are
merged before solving. A time-limited MILP never returns a worse answer than
the heuristic (the better of the two is returned, with the MILP's bound).
Before a covering MILP, candidates whose reach is a subset of another's are
set aside (:func:`undominated_columns`): the optimum is unchanged and the
problem the solver sees is several times smaller.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_matrix, hstack, identity

import settings
from layers.errors import InnoMapError

__all__ = [
    "SitingError",
    "SitingSolution",
    "merge_identical_rows",
    "solve_lscp",
    "solve_mclp",
    "solve_pmedian",
    "two_step_fca",
    "undominated_columns",
]


class SitingError(InnoMapError):
    """Raised for infeasible or malformed siting problems."""


@dataclass
class SitingSolution:
    """Result of a siting model.

    Attributes
    ----------
    model : str
    selected : list of int
        Candidate indices in the order chosen (greedy order; for MILP answers,
        re-ordered by marginal gain).
    objective : float
        Weighted covered demand after (MCLP/LSCP), or weighted travel time after (p-median).
    upper_bound : float
        Best proven bound on the objective (an upper bound for maximisation,
        a lower bound on travel time for p-median).
    gap : float
        Relative proven gap ``|bound − objective| / |bound|``.
    marginal_gain : list of float
        Gain of each selected site, in order.
    solver : str
        ``exact`` (MILP), ``heuristic`` or ``exact+heuristic``.
    seconds : float
    status : str
    """

    model: str
    selected: list[int]
    objective: float
    upper_bound: float
    gap: float
    marginal_gain: list[float]
    solver: str
    seconds: float
    status: str = ""
    extra: dict = field(default_factory=dict)


def merge_identical_rows(
    reach: csr_matrix, weights: np.ndarray
) -> tuple[csr_matrix, np.ndarray, np.ndarray]:
    """Merge demand rows with identical reach patterns, summing their weights.

    Returns ``(reach_unique, weights_unique, inverse)`` with ``inverse`` mapping
    every original row to its merged row. Rows reaching no candidate are dropped
    (inverse −1): no siting decision can change them.
    """
    r = reach.tocsr().astype(bool)
    r.sort_indices()
    n = r.shape[0]
    lens = np.diff(r.indptr)
    keys = np.empty(n, dtype=object)
    idx = r.indices
    for i in range(n):
        keys[i] = idx[r.indptr[i] : r.indptr[i + 1]].tobytes()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    w = np.bincount(inverse, weights=np.asarray(weights, float), minlength=len(first))
    merged = r[first]
    keep = lens[first] > 0
    remap = np.full(len(first), -1)
    remap[keep] = np.arange(keep.sum())
    return merged[keep], w[keep], remap[inverse]


def undominated_columns(
    reach: csr_matrix, *, block: int | None = None, max_pairs: int | None = None
) -> np.ndarray:
    """Candidates (columns) not dominated by another: the set a covering model needs.

    Column ``j`` is dominated by column ``l`` when every row ``j`` reaches is
    also reached by ``l`` and ``l`` comes first in the order (more rows, then
    lower index). Replacing a dominated site by its dominator never lowers the
    covered weight (weights ≥ 0), and the order is strict, so every chain ends
    at a kept column: the optimum of MCLP and LSCP over the kept columns equals
    the optimum over all. Columns reaching no row are dropped too.

    Parameters
    ----------
    reach : scipy.sparse matrix (rows × candidates)
    block : int, optional
        Most columns compared per step (default ``settings.SITING_DOMINANCE_BLOCK``); fewer
        when there are many candidates, so that a step's overlap counts stay within
        ``settings.SITING_DOMINANCE_BLOCK_ENTRIES``.
    max_pairs : int, optional
        Compare only when the pairs to compare (Σ over rows of reaching columns²) are at
        most this many (default ``settings.SITING_DOMINANCE_MAX_PAIRS``); above it every
        column with a row is kept (always correct, only less reduced).

    Returns
    -------
    numpy.ndarray of bool
        ``True`` for the columns to keep.
    """
    c = reach.tocsc().astype(bool).astype(np.int32)
    c.eliminate_zeros()
    size = np.diff(c.indptr)
    keep = size > 0
    limit = settings.SITING_DOMINANCE_MAX_PAIRS if max_pairs is None else max_pairs
    per_row = np.bincount(c.indices, minlength=c.shape[0]).astype(np.int64)
    if int((per_row**2).sum()) > limit:
        return keep
    ct = c.T.tocsr()
    block = settings.SITING_DOMINANCE_BLOCK if block is None else block
    block = max(1, min(block, settings.SITING_DOMINANCE_BLOCK_ENTRIES // max(c.shape[1], 1)))
    for lo in range(0, c.shape[1], block):
        ov = ct[lo : lo + block] @ c  # overlap of block columns with every column
        j = np.repeat(np.arange(lo, lo + ov.shape[0]), np.diff(ov.indptr))
        col, v = ov.indices, ov.data
        dom = (
            (col != j)
            & (v == size[j])
            & ((size[col] > size[j]) | ((size[col] == size[j]) & (col < j)))
        )
        keep[j[dom]] = False
    return keep


def _topk_bound(gain_fn, mask: np.ndarray, value: float, k: int) -> float:
    """Submodular bound ``f(S) + sum of the k largest marginal gains w.r.t. S``."""
    g = gain_fn(mask)
    g[mask] = -np.inf
    top = np.sort(g[np.isfinite(g)])[::-1][:k]
    return value + float(np.clip(top, 0, None).sum())


def _greedy(gain_fn, n_cand: int, k: int, base: float):
    """Greedy with the submodular upper bound; gain_fn(selected_mask) -> gains vector."""
    selected: list[int] = []
    gains_hist: list[float] = []
    mask = np.zeros(n_cand, bool)
    value = base
    bound = np.inf
    for _ in range(k):
        g = gain_fn(mask)
        g[mask] = -np.inf
        bound = min(
            bound, value + float(np.clip(np.sort(g[np.isfinite(g)])[::-1][:k], 0, None).sum())
        )
        j = int(np.argmax(g))
        if not np.isfinite(g[j]) or g[j] <= 0:
            break  # nothing left to gain: more sites would add nothing
        selected.append(j)
        gains_hist.append(float(max(g[j], 0.0)))
        mask[j] = True
        value += float(max(g[j], 0.0))
    bound = min(bound, _topk_bound(gain_fn, mask, value, k))
    return selected, gains_hist, value, bound


class _Coverage:
    """Coverage objective on merged rows (unserved demand only)."""

    def __init__(self, reach: csr_matrix, w: np.ndarray):
        self.r = reach.tocsr().astype(np.float64)
        self.rt = self.r.T.tocsr()
        self.w = w

    def covered(self, mask: np.ndarray) -> np.ndarray:
        return (self.r @ mask.astype(np.float64)) > 0

    def value(self, mask: np.ndarray) -> float:
        return float(self.w[self.covered(mask)].sum())

    def gains(self, mask: np.ndarray) -> np.ndarray:
        open_w = np.where(self.covered(mask), 0.0, self.w)
        return self.rt @ open_w


def _swap(gain_fn, value_fn, selected: list[int], n_cand: int, deadline: float):
    """1-swap improvement: replace a chosen site by the best other while it gains."""
    mask = np.zeros(n_cand, bool)
    mask[selected] = True
    value = value_fn(mask)
    improved = True
    while improved and time.perf_counter() < deadline:
        improved = False
        for s in list(np.flatnonzero(mask)):
            mask[s] = False
            g = gain_fn(mask)
            g[mask] = -np.inf
            g[s] = -np.inf
            j = int(np.argmax(g))
            base = value_fn(mask)
            if base + g[j] > value + 1e-9:
                mask[j] = True
                value = base + float(g[j])
                improved = True
            else:
                mask[s] = True
            if time.perf_counter() > deadline:
                break
    return [int(j) for j in np.flatnonzero(mask)], value


def _order_by_gain(gain_fn, chosen: list[int], n_cand: int) -> tuple[list[int], list[float]]:
    """Order chosen sites greedily by marginal gain (the order a planner reads)."""
    mask = np.zeros(n_cand, bool)
    order, gains = [], []
    remaining = list(chosen)
    while remaining:
        g = gain_fn(mask)
        j = max(remaining, key=lambda c: g[c])
        order.append(int(j))
        gains.append(float(g[j]))
        mask[j] = True
        remaining.remove(j)
    return order, gains


def _lp_or_milp_mclp(
    reach: csr_matrix, w: np.ndarray, k: int, *, integral: bool, time_limit: float
):
    """max Σ w_i y_i  s.t.  y_i ≤ Σ_j a_ij x_j,  Σ x_j = k,  0 ≤ y ≤ 1,  x ∈ {0,1}."""
    m, n = reach.shape
    c = np.r_[np.zeros(n), -w]
    a1 = hstack([-reach.astype(float), identity(m, format="csr")]).tocsr()
    a2 = csr_matrix(np.r_[np.ones(n), np.zeros(m)][None, :])
    cons = [LinearConstraint(a1, -np.inf, 0.0), LinearConstraint(a2, k, k)]
    integ = np.r_[np.ones(n) if integral else np.zeros(n), np.zeros(m)]
    res = milp(
        c,
        constraints=cons,
        integrality=integ,
        bounds=Bounds(0, 1),
        options={"time_limit": float(time_limit), "disp": False},
    )
    return res


def solve_mclp(
    reach: csr_matrix,
    weights: np.ndarray,
    existing_cover: np.ndarray,
    *,
    k: int,
    solver: str = "auto",
    time_limit: float | None = None,
    gap_target: float | None = None,
) -> SitingSolution:
    """Maximal covering with the existing sites kept (their demand counts as covered).

    Parameters
    ----------
    reach : scipy.sparse matrix (demand × candidate), bool
    weights : numpy.ndarray
        Demand weights.
    existing_cover : numpy.ndarray of bool
        Demand already covered by existing incubators.
    k : int
        New sites to choose.
    solver : {"exact", "heuristic", "auto"}
        ``auto``: heuristic with bounds first; the MILP only if the proven gap
        exceeds ``gap_target``.
    """
    time_limit = settings.SITING_TIME_LIMIT_S if time_limit is None else time_limit
    gap_target = settings.SITING_GAP_TARGET if gap_target is None else gap_target
    t0 = time.perf_counter()
    w_all = np.asarray(weights, float)
    if reach.shape[0] != len(w_all) or len(existing_cover) != len(w_all):
        raise SitingError("矩阵与需求数量不一致 / reach, weights and existing_cover sizes differ")
    if k < 0:
        raise SitingError(f"k 必须 ≥ 0 / k must be ≥ 0, got {k}")
    n_cand = reach.shape[1]
    k = min(int(k), n_cand)
    base = float(w_all[existing_cover].sum())
    unserved = ~np.asarray(existing_cover, bool)
    r, w, _ = merge_identical_rows(reach.tocsr()[unserved], w_all[unserved])
    obj = _Coverage(r, w)
    sel, _, val, bound = _greedy(obj.gains, n_cand, k, 0.0)
    sel, val = _swap(obj.gains, obj.value, sel, n_cand, t0 + max(time_limit * 0.2, 1.0))
    mask = np.zeros(n_cand, bool)
    mask[sel] = True
    bound = min(bound, _topk_bound(obj.gains, mask, val, k))
    used = "heuristic"
    status = "greedy + 1-swap"
    if k > 0 and r.shape[0] > 0:
        # the LP relaxation bound is cheap on spatial instances and much tighter
        # than the greedy bound: compute it for every solver
        lp = _lp_or_milp_mclp(
            r, w, k, integral=False, time_limit=min(max(time_limit * 0.3, 0.5), 10.0)
        )
        if lp.status == 0:
            bound = min(bound, -lp.fun)
        remaining = time_limit - (time.perf_counter() - t0)
        need_milp = solver == "exact" or (
            solver == "auto" and (bound - val) / max(bound, 1e-12) > gap_target
        )
        if need_milp and remaining > 0.2:
            cols = np.flatnonzero(undominated_columns(r))  # same optimum, smaller problem
            remaining = time_limit - (time.perf_counter() - t0)
            res = _lp_or_milp_mclp(
                r[:, cols], w, min(k, len(cols)), integral=True, time_limit=max(remaining, 0.2)
            )
            db = getattr(res, "mip_dual_bound", None)
            if db is not None and np.isfinite(db):
                bound = min(bound, -db)
            if res.x is not None:
                xs = cols[np.flatnonzero(res.x[: len(cols)] > 0.5)]
                m_mask = np.zeros(n_cand, bool)
                m_mask[xs] = True
                mval = obj.value(m_mask)
                if mval > val + 1e-9:
                    sel, val = list(xs), mval
                    used = "exact"
                else:
                    used = "exact+heuristic"
            status = res.message
    order, gains = _order_by_gain(obj.gains, sel, n_cand)
    bound = max(bound, val)
    objective = base + val
    upper = base + bound
    return SitingSolution(
        model="mclp",
        selected=[int(j) for j in order],
        objective=objective,
        upper_bound=upper,
        gap=(upper - objective) / upper if upper > 0 else 0.0,
        marginal_gain=gains,
        solver=used,
        seconds=time.perf_counter() - t0,
        status=str(status),
        extra={"covered_before": base, "merged_rows": int(r.shape[0])},
    )


def _lscp_milp(r: csr_matrix, w: np.ndarray, need: float, time_limit: float):
    """Fewest sites x_j with covered rows y_i ≤ Σ_j r_ij x_j and Σ w_i y_i ≥ need."""
    m, n = r.shape
    c = np.r_[np.ones(n), np.zeros(m)]
    a1 = hstack([-r.astype(float), identity(m, format="csr")]).tocsr()
    a2 = csr_matrix(np.r_[np.zeros(n), w][None, :])
    return milp(
        c,
        constraints=[
            LinearConstraint(a1, -np.inf, 0),
            LinearConstraint(a2, need - 1e-9, np.inf),
        ],
        integrality=np.r_[np.ones(n), np.zeros(m)],
        bounds=Bounds(0, 1),
        options={"time_limit": float(time_limit), "disp": False},
    )


def _pmedian_milp(save: csr_matrix, w: np.ndarray, k: int, *, time_limit: float, t0: float):
    """Exactly k sites x_j, each row assigned (z_e) to at most one open site; maximise the
    weighted time saved Σ w_i save_e z_e."""
    n_rows, n_cand = save.shape
    s = save.tocoo()
    nz = len(s.data)
    # variables: x_j (n_cand), z_e (nz) ; max Σ w_i save_e z_e
    cvec = np.r_[np.zeros(n_cand), -(w[s.row] * s.data)]
    a_assign = csr_matrix((np.ones(nz), (s.row, np.arange(nz))), shape=(n_rows, nz))
    a1 = hstack([csr_matrix((n_rows, n_cand)), a_assign]).tocsr()
    a2 = hstack(
        [
            -csr_matrix((np.ones(nz), (np.arange(nz), s.col)), shape=(nz, n_cand)),
            identity(nz, format="csr"),
        ]
    ).tocsr()
    a3 = csr_matrix(np.r_[np.ones(n_cand), np.zeros(nz)][None, :])
    return milp(
        cvec,
        constraints=[
            LinearConstraint(a1, -np.inf, 1),
            LinearConstraint(a2, -np.inf, 0),
            LinearConstraint(a3, k, k),
        ],
        integrality=np.r_[np.ones(n_cand), np.zeros(nz)],
        bounds=Bounds(0, 1),
        options={
            "time_limit": float(max(time_limit - (time.perf_counter() - t0), 1.0)),
            "disp": False,
        },
    )


def _greedy_until(obj: _Coverage, need: float, n_cand: int) -> list[int]:
    """Sites added by largest gain until the covered weight reaches ``need``."""
    sel: list[int] = []
    mask = np.zeros(n_cand, bool)
    val = 0.0
    while val < need - 1e-9:
        g = obj.gains(mask)
        g[mask] = -np.inf
        j = int(np.argmax(g))
        sel.append(j)
        mask[j] = True
        val += float(g[j])
    return sel


def solve_lscp(
    reach: csr_matrix,
    weights: np.ndarray,
    existing_cover: np.ndarray,
    *,
    target_share: float,
    solver: str = "auto",
    time_limit: float | None = None,
) -> SitingSolution:
    """Fewest new sites so that the covered weighted share reaches ``target_share``.

    Raises
    ------
    SitingError
        If even every candidate together cannot reach the target.
    """
    time_limit = settings.SITING_TIME_LIMIT_S if time_limit is None else time_limit
    t0 = time.perf_counter()
    if not 0 < target_share <= 1:
        raise SitingError(
            f"目标覆盖率应在 (0, 1] / target_share must be in (0, 1], got {target_share}"
        )
    w_all = np.asarray(weights, float)
    total = float(w_all.sum())
    base = float(w_all[existing_cover].sum())
    need = target_share * total - base
    n_cand = reach.shape[1]
    unserved = ~np.asarray(existing_cover, bool)
    r, w, _ = merge_identical_rows(reach.tocsr()[unserved], w_all[unserved])
    obj = _Coverage(r, w)
    full = obj.value(np.ones(n_cand, bool))
    if need > full + 1e-9:
        raise SitingError(
            f"所有候选点合计也只能覆盖 {(base + full) / total:.1%} / even all candidates reach only "
            f"{(base + full) / total:.1%} < target {target_share:.1%}: add candidates or lower the target"
        )
    sel = _greedy_until(obj, need, n_cand)
    lower = 1 if need > 0 else 0
    used, status = "heuristic", "greedy"
    if solver in ("exact", "auto") and need > 0 and r.shape[0] > 0:
        cols = np.flatnonzero(undominated_columns(r))  # same optimum, smaller problem
        res = _lscp_milp(r[:, cols], w, need, max(time_limit - (time.perf_counter() - t0), 0.5))
        db = getattr(res, "mip_dual_bound", None)
        if db is not None and np.isfinite(db):
            lower = max(lower, int(np.ceil(db - 1e-6)))
        if res.x is not None:
            xs = [int(j) for j in cols[np.flatnonzero(res.x[: len(cols)] > 0.5)]]
            xm = np.zeros(n_cand, bool)
            xm[xs] = True
            if len(xs) < len(sel) and obj.value(xm) >= need - 1e-6:
                sel = xs
                used = "exact"
            else:
                used = "exact+heuristic"
            status = res.message
    order, gains = _order_by_gain(obj.gains, sel, n_cand)
    mask = np.zeros(n_cand, bool)
    mask[order] = True
    objective = base + obj.value(mask)
    nsites = len(order)
    return SitingSolution(
        model="lscp",
        selected=[int(j) for j in order],
        objective=objective,
        upper_bound=float(lower),
        gap=(nsites - lower) / nsites if nsites else 0.0,
        marginal_gain=gains,
        solver=used,
        seconds=time.perf_counter() - t0,
        status=str(status),
        extra={
            "covered_before": base,
            "sites_lower_bound": int(lower),
            "target_share": target_share,
        },
    )


def solve_pmedian(
    cost: csr_matrix,
    base_cost: np.ndarray,
    weights: np.ndarray,
    *,
    k: int,
    solver: str = "auto",
    time_limit: float | None = None,
    exact_max_nnz: int | None = None,
) -> SitingSolution:
    """p-median with existing sites fixed: minimise Σ w_i · min(base_i, min_{j∈S} cost_ij).

    ``cost`` holds travel minutes from demand i to candidate j where it is below
    ``base_cost[i]`` (time to the nearest existing site; use a large finite value
    where none is reachable). Solved as maximising the weighted time saved.
    """
    time_limit = settings.SITING_TIME_LIMIT_S if time_limit is None else time_limit
    exact_max_nnz = settings.SITING_EXACT_MAX_NNZ if exact_max_nnz is None else exact_max_nnz
    t0 = time.perf_counter()
    c = cost.tocsr()
    w = np.asarray(weights, float)
    base = np.asarray(base_cost, float)
    save = c.copy()
    save.data = np.maximum(base[np.repeat(np.arange(c.shape[0]), np.diff(c.indptr))] - c.data, 0.0)
    save.eliminate_zeros()
    n_cand = c.shape[1]
    total_base = float((w * base).sum())

    def best_saving(mask):
        if not mask.any():
            return np.zeros(c.shape[0])
        sub = save[:, np.flatnonzero(mask)]
        return np.asarray(sub.max(axis=1).todense()).ravel()

    def gains(mask):
        cur = best_saving(mask)
        s = save.tocoo()
        extra = np.maximum(s.data - cur[s.row], 0.0) * w[s.row]
        return np.bincount(s.col, weights=extra, minlength=n_cand)

    k = min(int(k), n_cand)
    sel, _, val, bound = _greedy(gains, n_cand, k, 0.0)

    def value(m):
        return float((w * best_saving(m)).sum())

    sel, val = _swap(gains, value, sel, n_cand, t0 + max(time_limit * 0.3, 1.0))
    mask = np.zeros(n_cand, bool)
    mask[sel] = True
    bound = min(bound, _topk_bound(gains, mask, val, k))
    used, status = "heuristic", "greedy + 1-swap"
    if solver in ("exact", "auto") and save.nnz <= exact_max_nnz and k > 0 and save.nnz:
        res = _pmedian_milp(save, w, k, time_limit=time_limit, t0=t0)
        db = getattr(res, "mip_dual_bound", None)
        if db is not None and np.isfinite(db):
            bound = min(bound, -db)
        if res.x is not None:
            xs = np.flatnonzero(res.x[:n_cand] > 0.5)
            xm = np.zeros(n_cand, bool)
            xm[xs] = True
            mv = value(xm)
            if mv > val + 1e-9:
                sel, val, used = list(xs), mv, "exact"
            else:
                used = "exact+heuristic"
            status = res.message
    order, gl = _order_by_gain(gains, sel, n_cand)
    bound = max(bound, val)
    objective = total_base - val
    lower = total_base - bound
    return SitingSolution(
        model="pmedian",
        selected=order,
        objective=objective,
        upper_bound=lower,
        gap=(objective - lower) / objective if objective > 0 else 0.0,
        marginal_gain=gl,
        solver=used,
        seconds=time.perf_counter() - t0,
        status=str(status),
        extra={"weighted_time_before": total_base, "time_saved": val},
    )


def two_step_fca(
    reach: csr_matrix, population: np.ndarray, capacity: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Two-step floating catchment area (2SFCA) accessibility.

    ``reach`` is demand × supply (within the catchment). Step 1: supply ratio
    ``R_j = S_j / Σ_{i∈catch(j)} P_i``; step 2: ``A_i = Σ_{j reachable} R_j``.
    Returns ``(A_i, R_j)``.
    """
    r = reach.tocsr().astype(float)
    p = np.asarray(population, float)
    s = np.asarray(capacity, float)
    demand_in = r.T @ p
    ratio = np.divide(s, demand_in, out=np.zeros_like(s), where=demand_in > 0)
    return r @ ratio, ratio
