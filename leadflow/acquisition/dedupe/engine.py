"""`find_duplicates`: the stages in order, on any frame (contacts from the database, FEBRL)."""

import time
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from leadflow.acquisition.dedupe.blocking import MAX_BLOCK, BlockingStats, L, R, candidate_pairs
from leadflow.acquisition.dedupe.compare import UNKNOWN, Comparison, compare_pairs, comparisons
from leadflow.acquisition.dedupe.fields import Field
from leadflow.acquisition.dedupe.normalise import prepare
from leadflow.acquisition.dedupe.score import FittedModel, count_levels, fit, posterior
from leadflow.errors import LeadflowError

MERGE, REVIEW = "merge", "review"
DEFAULT_THRESHOLD = 0.95
DEFAULT_REVIEW_THRESHOLD = 0.6
RANDOM_PAIRS = 200_000  # random pairs counted for the u priors
ALL_PAIRS_UP_TO = 700  # below this many records, count every pair instead of sampling
EM_SAMPLE = 200_000  # EM fits on a random sample of this many candidate pairs, scores all


class BadThresholds(LeadflowError):
    """Thresholds must satisfy 0 < review threshold <= merge threshold <= 1."""

    status_code = 422


@dataclass
class DedupeResult:
    pairs: pl.DataFrame  # id_l, id_r, external_id_l, external_id_r, probability, action, levels
    records: int
    blocking: BlockingStats
    model: FittedModel | None
    seconds: dict[str, float] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        actions = self.pairs["action"]
        return {
            "contacts": self.records,
            "candidate_pairs": self.blocking.pairs,
            "proposed": self.pairs.height,
            MERGE: int((actions == MERGE).sum()),
            REVIEW: int((actions == REVIEW).sum()),
            "skipped_blocks": self.blocking.skipped_blocks,
            "merged": 0,  # proposals only: `queue.record_proposals` merges, the command counts
        }


def _random_pairs(n: int, seed: int) -> pl.DataFrame:
    if n < 2:
        return pl.DataFrame(schema={L: pl.Int64, R: pl.Int64})
    if n <= ALL_PAIRS_UP_TO:
        left, right = np.triu_indices(n, k=1)
    else:
        rng = np.random.default_rng(seed)
        left = rng.integers(0, n, RANDOM_PAIRS)
        right = rng.integers(0, n, RANDOM_PAIRS)
        keep = left != right
        left, right = left[keep], right[keep]
    return pl.DataFrame({L: left.astype(np.int64), R: right.astype(np.int64)})


def backed(gamma: np.ndarray, plan: list[Comparison]) -> np.ndarray:
    """Per pair: does a field that identifies a person (`Comparison.identifies`) agree exactly?

    An automatic merge needs one. Names and near misses alone are not enough, however probable
    they make a pair: two people of one name live in neighbouring postcodes ("4120" and "4220"
    are one edit apart), and an e-mail address one edit from another ("j.smith1@", "j.smith2@")
    is often someone else's. Data with many typos teach the model that such pairs are mostly
    duplicates, so the probability alone would merge them; they go to the review queue.

    When the first names are "different" (level 0; a missing one is not different), the pair
    may be two people of one household or company, and only a field that is one person's own
    (`Comparison.personal`) backs it: the same email address, or a birth date or national id
    while no two known email addresses differ. A phone, a company, a street or a postcode do
    not: John and Jane Smith of Acme on one line go to the review queue, as the import's
    matching keeps them apart. (A typed-over first name with the same national id and birth
    date, as in FEBRL, still merges.)

    When both emails are known and differ (a typo apart included), what the two share as
    colleagues or neighbours (a company, a street, a postcode) does not back the pair either:
    John Smith at j.smith1@acme.com and at j.smith2@acme.com are often two people, and an
    import keeps two addresses apart. The same phone or a personal code still backs it (one
    person's work and home addresses, with their mobile); the rest go to review.
    """
    rows = gamma.shape[0]
    backs, backs_personally = np.zeros(rows, dtype=bool), np.zeros(rows, dtype=bool)
    backs_apart = np.zeros(rows, dtype=bool)  # what backs a pair whose emails differ
    same_email, emails_differ = np.zeros(rows, dtype=bool), np.zeros(rows, dtype=bool)
    first_differs = np.zeros(rows, dtype=bool)
    for j, comparison in enumerate(plan):
        level = gamma[:, j]
        exact = level == len(comparison.levels) - 1
        if comparison.identifies:
            backs |= exact
        if comparison.personal:
            backs_personally |= exact
        if comparison.kind == "phone" or (comparison.personal and comparison.kind != "email"):
            backs_apart |= exact
        if comparison.kind == "email":
            same_email |= exact
            emails_differ |= (level != UNKNOWN) & ~exact
        if comparison.first_name:
            first_differs |= level == 0
    personally = same_email | (backs_personally & ~emails_differ)
    return np.where(first_differs, personally, np.where(emails_differ, backs_apart, backs))


def find_duplicates(
    frame: pl.DataFrame,
    fields: list[Field],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    review_threshold: float = DEFAULT_REVIEW_THRESHOLD,
    id_column: str = "id",
    external_id_column: str | None = "external_id",
    max_block: int = MAX_BLOCK,
    seed: int = 0,
) -> DedupeResult:
    """Every pair of rows whose match probability is at least `review_threshold`."""
    if not 0 < review_threshold <= threshold <= 1:
        raise BadThresholds(
            f"need 0 < review threshold ({review_threshold}) <= threshold ({threshold}) <= 1"
        )
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage] = round(now - clock, 3)
        clock = now

    prepared = prepare(frame, fields)
    lap("normalise")
    pairs, stats = candidate_pairs(prepared, fields, max_block=max_block)
    lap("blocking")
    plan = comparisons(fields)
    gamma = compare_pairs(prepared, pairs, fields)
    lap("compare")
    model = None
    probability = np.zeros(pairs.height)
    if pairs.height:
        random_gamma = compare_pairs(prepared, _random_pairs(frame.height, seed), fields)
        sample = gamma
        if pairs.height > EM_SAMPLE:
            rng = np.random.default_rng(seed)
            sample = gamma[rng.choice(pairs.height, EM_SAMPLE, replace=False)]
        all_pairs = frame.height * (frame.height - 1) / 2
        population = all_pairs * sample.shape[0] / pairs.height
        model = fit(sample, plan, count_levels(random_gamma, plan), population=population)
        probability = posterior(gamma, model.m, model.u, model.match_share)
    lap("score")

    ids = frame[id_column]
    external = (
        frame[external_id_column]
        if external_id_column
        else pl.Series([None] * frame.height, dtype=pl.String)
    )
    levels = {
        c.name: pl.Series(gamma[:, j]).replace_strict(
            dict(enumerate(c.levels)), default=None, return_dtype=pl.String
        )
        for j, c in enumerate(plan)
    }
    proposed = pairs.with_columns(
        probability=pl.Series(probability, dtype=pl.Float64),
        backed=pl.Series(backed(gamma, plan), dtype=pl.Boolean),
        **levels,
    ).filter(pl.col("probability") >= review_threshold)

    proposed = proposed.with_columns(
        id_l=ids.gather(proposed[L]),
        id_r=ids.gather(proposed[R]),
        external_id_l=external.gather(proposed[L]).cast(pl.String),
        external_id_r=external.gather(proposed[R]).cast(pl.String),
        action=pl.when((pl.col("probability") >= threshold) & pl.col("backed"))
        .then(pl.lit(MERGE))
        .otherwise(pl.lit(REVIEW)),
    ).select(
        "id_l",
        "id_r",
        "external_id_l",
        "external_id_r",
        "probability",
        "action",
        *levels,
    )
    proposed = proposed.sort(["probability", "id_l", "id_r"], descending=[True, False, False])
    lap("propose")
    return DedupeResult(proposed, frame.height, stats, model, seconds)
