"""A Fellegi-Sunter model: a match probability per candidate pair from its agreement levels.

For each comparison and level, m = P(level | same person) and u = P(level | different people);
a pair's evidence is the sum of log(m/u) over its levels, added to the prior odds that two
records picked at random are the same person (the match share of *all* pairs, not of the
candidates).

u comes from random pairs of the same records (`engine.RANDOM_PAIRS` of them, every pair in a
small table), which are almost all different people: the few duplicates among them, as many
as the model expects, are taken out of the counts. It is never fitted on the candidate pairs:
those were chosen by blocking because they agree on a key (the same postcode, the same name
sound), so among them agreeing on that key looks common for different people too, and a
near miss (a postcode one edit apart, which only other keys bring in) looks rare. Fitted
there, "one edit" on a postcode weighed more than "exact" (5.7 against 0.3 bits on FEBRL 3
with names and postcodes only) and EM could settle on look-alike clusters.

m and the match share are fitted by EM on the candidate pairs (Winkler's method; on a random
sample of them when there are many, see `engine.EM_SAMPLE`), starting from and shrunk towards
the priors below (true duplicates mostly agree); the pairs blocking left out count as
different people. With many pairs the data decide; with a handful (a small workspace) the
priors do, so a small database still gets sensible probabilities. Unknown levels (-1, a
missing value) count for neither side.
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
# P(level | non-match) before any counting: PRIOR_PAIRS_U pairs' worth of it is added to the
# random pairs' counts, so a level no random pair reached is rare, not impossible.
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
# EM starts from few matches (1 % of the candidate pairs): a large table's candidates are
# mostly different people, and a high start can settle on a cluster of look-alikes (same
# postcode, similar names) instead.
MATCH_SHARE_START = 0.01


@dataclass(frozen=True)
class FittedModel:
    comparisons: list[Comparison]
    m: list[np.ndarray]
    u: list[np.ndarray]
    match_share: float  # lambda: the fitted share of matches among all pairs
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


@dataclass(frozen=True)
class RandomPairs:
    """Level counts per comparison among random pairs (every pair in a small table)."""

    counts: list[np.ndarray]
    pairs: int


def count_levels(gamma: np.ndarray, comparisons: list[Comparison]) -> RandomPairs:
    out = []
    for j, comparison in enumerate(comparisons):
        k = len(comparison.levels)
        column = gamma[:, j] if gamma.size else np.zeros(0, dtype=np.int8)
        known = column[column != UNKNOWN]
        out.append(np.bincount(known, minlength=k).astype(np.float64))
    return RandomPairs(out, int(gamma.shape[0]))


def u_estimates(
    random: RandomPairs, duplicates: list[np.ndarray] | None = None
) -> list[np.ndarray]:
    """u per comparison: the random pairs' level counts less the duplicates expected among
    them (`duplicates`: per comparison and level), shrunk towards U_DEFAULT."""
    out = []
    for j, counts in enumerate(random.counts):
        if duplicates is not None:
            counts = np.maximum(counts - duplicates[j], 0.0)
        out.append(_normalise(counts + PRIOR_PAIRS_U * np.asarray(U_DEFAULT[len(counts)])))
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


def fit(
    gamma: np.ndarray,
    comparisons: list[Comparison],
    random: RandomPairs,
    *,
    population: float,
) -> FittedModel:
    """m and the match share by EM on `gamma` (the candidate pairs, or a random sample of
    them); u from `random`, less the duplicates expected among those pairs.

    `population` is how many pairs of records the rows of `gamma` stand for: all pairs, in
    the proportion the sample is of the candidates (the pairs blocking left out are taken to
    be different people). The match share is the expected duplicates over `population`, and
    `random.pairs / population` of those duplicates are expected among the random pairs.
    """
    m_prior = [np.asarray(M_PRIOR[len(c.levels)]) for c in comparisons]
    m = [p.copy() for p in m_prior]
    u = u_estimates(random)
    n = gamma.shape[0]
    population = max(float(population), n + 2.0)
    in_random = random.pairs / population
    share = MATCH_SHARE_START * n / population
    iterations = 0
    for iterations in range(1, EM_ITERATIONS + 1):  # noqa: B007 - the count is reported
        p = posterior(gamma, m, u, share)
        new_m, hits = [], []
        for j, comparison in enumerate(comparisons):
            k = len(comparison.levels)
            column = gamma[:, j]
            known = column != UNKNOWN
            hit = np.bincount(column[known], weights=p[known], minlength=k)
            hits.append(hit * in_random)
            new_m.append(_normalise(hit + PRIOR_PAIRS_M * m_prior[j]))
        new_u = u_estimates(random, hits)
        new_share = (p.sum() + 1.0) / (population + 2.0)
        change = max(
            [abs(np.log(new_share / share))]
            + [float(np.abs(a - b).max()) for a, b in zip(new_m, m, strict=True)]
            + [float(np.abs(np.log(a / b)).max()) for a, b in zip(new_u, u, strict=True)]
        )
        m, u, share = new_m, new_u, new_share
        if change < EM_TOLERANCE:
            break
    return FittedModel(comparisons, m, u, float(share), iterations)
