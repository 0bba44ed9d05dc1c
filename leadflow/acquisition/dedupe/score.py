"""A Fellegi-Sunter model: a match probability per candidate pair from its agreement levels.

For each comparison and level, m = P(level | same person) and u = P(level | different people).
Both, and the share of matches among the candidates, are fitted by EM on the candidate pairs
themselves (Winkler's method; on a random sample of them when there are many, see
`engine.EM_SAMPLE`), starting from and shrunk towards priors: m from the defaults
below (true duplicates mostly agree), u from the frequencies in random pairs of the same
records (which are almost all different people). With millions of pairs the data decide;
with a handful (a small workspace) the priors do, so a small database still gets sensible
probabilities. Unknown levels (-1, a missing value) count for neither side.
"""

from dataclasses import dataclass

import numpy as np

from leadflow.acquisition.dedupe.compare import UNKNOWN, Comparison

# P(level | match), lowest level (disagree) first, by number of levels.
M_PRIOR = {
    2: (0.10, 0.90),
    3: (0.05, 0.15, 0.80),
    4: (0.05, 0.05, 0.15, 0.75),
}
# P(level | non-match) when there are too few records to count random pairs.
U_DEFAULT = {
    2: (0.95, 0.05),
    3: (0.98, 0.015, 0.005),
    4: (0.90, 0.06, 0.03, 0.01),
}
PRIOR_PAIRS_M = 10.0  # how many pairs' worth of evidence each prior counts for
PRIOR_PAIRS_U = 10.0
EM_ITERATIONS = 40
EM_TOLERANCE = 1e-5
FLOOR = 1e-6
# EM starts from few matches: a large table's candidates are mostly different people, and a
# high start can settle on a cluster of look-alikes (same postcode, similar names) instead.
MATCH_SHARE_START = 0.01


@dataclass(frozen=True)
class FittedModel:
    comparisons: list[Comparison]
    m: list[np.ndarray]
    u: list[np.ndarray]
    match_share: float  # lambda: the fitted share of matches among candidate pairs
    iterations: int

    def weights(self) -> dict[str, dict[str, float]]:
        """log2(m/u) per comparison and level: the evidence each level gives, for reports."""
        return {
            c.name: {
                label: round(float(np.log2(m / u)), 2)
                for label, m, u in zip(c.levels, m_j, u_j, strict=True)
            }
            for c, m_j, u_j in zip(self.comparisons, self.m, self.u, strict=True)
        }


def level_frequencies(gamma: np.ndarray, comparisons: list[Comparison]) -> list[np.ndarray]:
    """u priors: level frequencies among random pairs, shrunk towards U_DEFAULT."""
    out = []
    for j, comparison in enumerate(comparisons):
        k = len(comparison.levels)
        column = gamma[:, j] if gamma.size else np.zeros(0, dtype=np.int8)
        known = column[column != UNKNOWN]
        counts = np.bincount(known, minlength=k).astype(np.float64)
        default = np.asarray(U_DEFAULT[k])
        out.append(_normalise(counts + PRIOR_PAIRS_U * default))
    return out


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.maximum(v, FLOOR)
    return v / v.sum()


def _log_likelihoods(gamma: np.ndarray, params: list[np.ndarray]) -> np.ndarray:
    total = np.zeros(gamma.shape[0], dtype=np.float64)
    for j, p in enumerate(params):
        column = gamma[:, j]
        known = column != UNKNOWN
        total[known] += np.log(p)[column[known]]
    return total


def posterior(gamma: np.ndarray, m, u, match_share: float) -> np.ndarray:
    share = min(max(match_share, FLOOR), 1 - FLOOR)
    w = _log_likelihoods(gamma, m) - _log_likelihoods(gamma, u) + np.log(share / (1 - share))
    return 1.0 / (1.0 + np.exp(-np.clip(w, -700, 700)))


def fit(gamma: np.ndarray, comparisons: list[Comparison], u_prior: list[np.ndarray]) -> FittedModel:
    m_prior = [np.asarray(M_PRIOR[len(c.levels)]) for c in comparisons]
    m = [p.copy() for p in m_prior]
    u = [p.copy() for p in u_prior]
    share = MATCH_SHARE_START
    n = gamma.shape[0]
    iterations = 0
    for iterations in range(1, EM_ITERATIONS + 1):  # noqa: B007 - the count is reported
        p = posterior(gamma, m, u, share)
        new_m, new_u = [], []
        for j, comparison in enumerate(comparisons):
            k = len(comparison.levels)
            column = gamma[:, j]
            known = column != UNKNOWN
            hit = np.bincount(column[known], weights=p[known], minlength=k)
            miss = np.bincount(column[known], weights=1 - p[known], minlength=k)
            new_m.append(_normalise(hit + PRIOR_PAIRS_M * m_prior[j]))
            new_u.append(_normalise(miss + PRIOR_PAIRS_U * u_prior[j]))
        new_share = (p.sum() + 1.0) / (n + 2.0)
        change = max(
            [abs(new_share - share)]
            + [float(np.abs(a - b).max()) for a, b in zip(new_m + new_u, m + u, strict=True)]
        )
        m, u, share = new_m, new_u, new_share
        if change < EM_TOLERANCE:
            break
    return FittedModel(comparisons, m, u, float(share), iterations)
