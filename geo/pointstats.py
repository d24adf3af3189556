"""Point-pattern statistics: Clark–Evans nearest neighbour, Ripley's L, co-location quotient."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import cKDTree
from scipy.stats import norm

import settings
from layers.errors import InnoMapError

__all__ = [
    "PointStatsError",
    "clark_evans",
    "colocation_quotient",
    "csr_points",
    "ripley_l",
]


class PointStatsError(InnoMapError):
    """Raised for patterns too small for a statistic, or a bad study area."""


def csr_points(area, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniformly random points inside ``area`` (complete spatial randomness)."""
    minx, miny, maxx, maxy = area.bounds
    shapely.prepare(area)
    out = np.empty((0, 2))
    while len(out) < n:
        m = max(2 * (n - len(out)), 64)
        cand = np.column_stack([rng.uniform(minx, maxx, m), rng.uniform(miny, maxy, m)])
        out = np.vstack([out, cand[shapely.contains_xy(area, cand[:, 0], cand[:, 1])]])
    return out[:n]


@dataclass(frozen=True)
class ClarkEvans:
    """Average nearest neighbour result."""

    n: int
    area_m2: float
    observed_m: float
    expected_m: float
    R: float
    z: float
    p: float

    def interpretation(self, lang: str = "zh") -> str:
        """Clustered / dispersed / random at the 5 % level."""
        if self.p >= 0.05:
            return "随机分布" if lang == "zh" else "random"
        if self.R < 1:
            return "显著集聚" if lang == "zh" else "clustered"
        return "显著离散" if lang == "zh" else "dispersed"


def clark_evans(xy: np.ndarray, *, area) -> ClarkEvans:
    """Clark–Evans R = observed / expected mean nearest-neighbour distance in ``area``.

    Expected ``0.5 √(A/n)``, standard error ``0.26136 / √(n²/A)`` (ArcGIS Average
    Nearest Neighbor); two-sided normal p. Points outside ``area`` are ignored.
    """
    xy = np.asarray(xy, float).reshape(-1, 2)
    if area is None or area.is_empty or area.area <= 0:
        raise PointStatsError("研究区为空 / the study area is empty")
    xy = xy[shapely.contains_xy(area, xy[:, 0], xy[:, 1])]
    n = len(np.unique(xy, axis=0))
    if n < 3:
        raise PointStatsError(f"研究区内点太少 ({n}) / at least 3 distinct points are needed")
    d, _ = cKDTree(xy).query(xy, k=2)
    obs = float(d[:, 1].mean())
    a = float(area.area)
    exp = 0.5 * np.sqrt(a / len(xy))
    se = 0.26136 / np.sqrt(len(xy) ** 2 / a)
    z = (obs - exp) / se
    return ClarkEvans(len(xy), a, obs, float(exp), obs / exp, float(z), float(2 * norm.sf(abs(z))))


def ripley_l(
    xy: np.ndarray,
    *,
    area,
    distances_m: np.ndarray,
    simulations: int | None = None,
    seed: int | None = None,
) -> dict[str, np.ndarray]:
    """Ripley's L(d) (no edge correction) with a CSR simulation envelope.

    Returns ``distances``, ``L``, ``L_minus_d``, ``env_low``, ``env_high`` (the
    min and max over ``simulations`` random patterns of the same size in ``area``).
    """
    simulations = settings.RIPLEY_SIMULATIONS if simulations is None else simulations
    seed = settings.POINTSTATS_SEED if seed is None else seed
    xy = np.asarray(xy, float).reshape(-1, 2)
    xy = xy[shapely.contains_xy(area, xy[:, 0], xy[:, 1])]
    n = len(xy)
    if n < 3:
        raise PointStatsError(f"研究区内点太少 ({n}) / at least 3 points are needed")
    r = np.asarray(distances_m, float)
    a = float(area.area)

    def lfun(pts):
        t = cKDTree(pts)
        pairs = t.count_neighbors(t, r) - len(pts)  # ordered pairs i != j
        k = a * pairs / (len(pts) * (len(pts) - 1))
        return np.sqrt(k / np.pi)

    obs = lfun(xy)
    rng = np.random.default_rng(seed)
    sims = (
        np.array([lfun(csr_points(area, n, rng)) for _ in range(simulations)])
        if simulations
        else obs[None]
    )
    return {
        "distances": r,
        "L": obs,
        "L_minus_d": obs - r,
        "env_low": sims.min(axis=0),
        "env_high": sims.max(axis=0),
    }


def colocation_quotient(
    xy: np.ndarray,
    kinds: np.ndarray,
    a: str,
    b: str,
    *,
    permutations: int | None = None,
    seed: int | None = None,
) -> dict[str, float]:
    """Co-location quotient CLQ(A→B) of Leslie & Kronenfeld (2011) with a permutation test.

    ``CLQ = (C_AB / N_A) / (N_B' / (N − 1))`` where ``C_AB`` counts A points whose
    nearest neighbour is a B point and ``N_B' = N_B`` (``N_B − 1`` when A = B).
    The p-value is one-sided for co-location (CLQ > 1) from label permutations.
    """
    permutations = settings.CLQ_PERMUTATIONS if permutations is None else permutations
    seed = settings.POINTSTATS_SEED if seed is None else seed
    xy = np.asarray(xy, float).reshape(-1, 2)
    kinds = np.asarray(kinds).astype(str)
    n = len(xy)
    na, nb = int((kinds == a).sum()), int((kinds == b).sum())
    if na == 0 or nb == 0 or n < 3:
        raise PointStatsError(f"类别 {a!r} 或 {b!r} 没有点 / kind {a!r} or {b!r} has no points")
    _, j = cKDTree(xy).query(xy, k=2)
    nn = j[:, 1]
    nbp = nb - 1 if a == b else nb

    def clq(lab):
        isa = lab == a
        c = (lab[nn[isa]] == b).sum()
        return (c / isa.sum()) / (nbp / (n - 1))

    obs = float(clq(kinds))
    rng = np.random.default_rng(seed)
    sims = np.array([clq(rng.permutation(kinds)) for _ in range(permutations)])
    p = float(((sims >= obs).sum() + 1) / (permutations + 1))
    return {
        "a": a,
        "b": b,
        "n_a": na,
        "n_b": nb,
        "clq": obs,
        "p_colocated": p,
        "expected": 1.0,
        "permutations": permutations,
    }
