"""Statistics of a comparison between students scored on the same questions.

Intervals, tests and power come from statsmodels (no hand-written formulas); this module
only decides which one applies and how results are read:

- accuracy: Wilson score interval (sound near 0 and 1 and for small n);
- two students on the same questions: exact McNemar test (a binomial test on the
  questions only one of them answers right), per seed and pooled over seeds;
- many comparisons at once: Holm's step-down adjustment of the p-values;
- the smallest difference a study of n questions per student could detect: the two-sided
  test of two proportions at the given power (Cohen's h, statsmodels' `NormalIndPower`),
  which treats the students as independent samples and so is conservative for paired ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

LEVEL = 0.95
ALPHA = 0.05
POWER = 0.8

BEYOND_CHANCE = "beyond chance"
WITHIN_SEED_NOISE = "within seed noise"
NOT_SIGNIFICANT = "not significant"


@dataclass(frozen=True)
class Proportion:
    """Accuracy `correct / n` with its interval at `LEVEL`; `correct` may be a seed mean."""

    correct: float
    n: int
    accuracy: float
    low: float
    high: float


@dataclass(frozen=True)
class Paired:
    """Exact McNemar test: `only_a`/`only_b` count the questions only that student got right."""

    n: int
    only_a: int
    only_b: int
    p: float

    @property
    def difference(self) -> float:
        """Accuracy of a minus accuracy of b, in [-1, 1]."""
        return (self.only_a - self.only_b) / self.n if self.n else 0.0


def proportion(correct: float, n: int, level: float = LEVEL) -> Proportion:
    """Wilson interval of `correct` right answers out of `n` (n = 0 gives [0, 1])."""
    from statsmodels.stats.proportion import proportion_confint

    if n == 0:
        return Proportion(correct, 0, 0.0, 0.0, 1.0)
    low, high = proportion_confint(correct, n, alpha=1 - level, method="wilson")
    share = correct / n  # rounding may leave the interval a hair off its estimate
    low, high = max(0.0, min(share, float(low))), min(1.0, max(share, float(high)))
    return Proportion(correct, n, share, low, high)


def _mcnemar(both: int, only_a: int, only_b: int, neither: int) -> float:
    from statsmodels.stats.contingency_tables import mcnemar

    if only_a + only_b == 0:
        return 1.0
    return float(mcnemar([[both, only_a], [only_b, neither]], exact=True).pvalue)


def paired_test(a: Sequence[bool], b: Sequence[bool]) -> Paired:
    """Two students' right/wrong on the same questions, in the same order.

    Raises ValueError when the lists differ in length (they cannot be the same questions).
    """
    if len(a) != len(b):
        raise ValueError(f"paired results need the same questions, got {len(a)} and {len(b)}")
    both = sum(x and y for x, y in zip(a, b, strict=True))
    only_a = sum(x and not y for x, y in zip(a, b, strict=True))
    only_b = sum(y and not x for x, y in zip(a, b, strict=True))
    neither = len(a) - both - only_a - only_b
    return Paired(len(a), only_a, only_b, _mcnemar(both, only_a, only_b, neither))


def pooled_test(tests: Sequence[Paired]) -> Paired:
    """Per-seed tables summed into one exact test: more disagreements, the same null.

    The seeds share their questions, so this pools training noise, not question sampling.
    """
    n = sum(t.n for t in tests)
    only_a, only_b = sum(t.only_a for t in tests), sum(t.only_b for t in tests)
    # The concordant cells do not enter the exact test; their split is irrelevant.
    return Paired(n, only_a, only_b, _mcnemar(n - only_a - only_b, only_a, only_b, 0))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values (family-wise error over all the comparisons given)."""
    from statsmodels.stats.multitest import multipletests

    if not pvalues:
        return []
    return [float(p) for p in multipletests(list(pvalues), alpha=ALPHA, method="holm")[1]]


def detectable_difference(
    n: int, baseline: float, alpha: float = ALPHA, power: float = POWER
) -> float | None:
    """Smallest accuracy gain over `baseline` that `n` questions per student detect.

    Two-sided test at `alpha` with probability `power`; None when n is 0 or no gain up to
    accuracy 1 is detectable.
    """
    from statsmodels.stats.power import NormalIndPower

    if n <= 0:
        return None
    h = float(NormalIndPower().solve_power(nobs1=n, alpha=alpha, power=power, ratio=1.0))
    angle = math.asin(math.sqrt(min(max(baseline, 0.0), 1.0))) + h / 2  # Cohen's h, inverted
    if angle > math.pi / 2:
        return None
    return math.sin(angle) ** 2 - baseline


def seed_spread(accuracies: Sequence[float]) -> float | None:
    """Range of one method's accuracy over its seeds; None with fewer than two seeds."""
    return max(accuracies) - min(accuracies) if len(accuracies) > 1 else None


def verdict(difference: float, p_adjusted: float, spread: float | None) -> str:
    """How to read a difference between two methods.

    Beyond chance: the adjusted paired test rejects, and the gap exceeds the larger of the
    two methods' seed ranges (when known). Within seed noise: the gap is no larger than
    retraining the same method with another seed moves it. Otherwise not significant.
    """
    if spread is not None and abs(difference) <= spread:
        return WITHIN_SEED_NOISE
    if p_adjusted < ALPHA:
        return BEYOND_CHANCE
    return NOT_SIGNIFICANT
