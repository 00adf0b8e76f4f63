"""Confidence intervals for rftctl compare: Student t over prompts, Wilson for one answer per prompt.

The prompt is the unit of independence: the answers a model gives to one prompt are correlated
(same difficulty, same limit), so every interval is computed from per-prompt values (each prompt's
mean reward, its pass rate, the paired difference tuned - base) with n_prompts - 1 degrees of
freedom, never from the pooled answers, which would overstate the evidence K-fold.

No scipy in the project: the t quantile is found by bisection on the t distribution function,
written with the regularized incomplete beta function (its continued fraction, evaluated with
Lentz's method as in Numerical Recipes, section 6.4). tests/scripts/test_statistics.py checks it
against published quantiles and the closed forms for 1 and 2 degrees of freedom.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

CONFIDENCE_LEVEL = 0.95

_TINY = 1e-300  # keeps Lentz's method away from dividing by zero
_EPSILON = 1e-15
_MAX_TERMS = 100_000  # the continued fraction needs about sqrt(df) terms; 20,000 prompts take ~200


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    result = d
    for m in range(1, _MAX_TERMS):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            step = c * d
            result *= step
        if abs(step - 1.0) < _EPSILON:
            return result
    raise ArithmeticError(f"incomplete beta continued fraction did not converge (a={a}, b={b}, x={x})")


def regularized_incomplete_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b) for a, b > 0 and x in [0, 1]."""
    if not (a > 0 and b > 0):
        raise ValueError(f"incomplete beta needs a, b > 0, got a={a}, b={b}")
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"incomplete beta needs x in [0, 1], got {x}")
    return _incomplete_beta(a, b, x, 1.0 - x)


def _incomplete_beta(a: float, b: float, x: float, y: float) -> float:
    """I_x(a, b) with y = 1 - x given as computed from its own terms (x near 1 has lost y's digits)."""
    if x <= 0.0 or y <= 0.0:
        return 0.0 if x <= 0.0 else 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(y)
    front = math.exp(log_front)
    # The continued fraction converges fast below this point; above it, use I_x(a, b) = 1 - I_{1-x}(b, a).
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, y) / b


def student_t_cdf(t: float, df: int) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, got {df}")
    if t == 0:
        return 0.5
    square = t * t
    tail = 0.5 * _incomplete_beta(df / 2.0, 0.5, df / (df + square), square / (df + square))
    return 1.0 - tail if t > 0 else tail


def student_t_quantile(p: float, df: int) -> float:
    """The t with P(T <= t) = p, by bisection (to about 1e-12 relative)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"a quantile needs p in (0, 1), got {p}")
    if p < 0.5:
        return -student_t_quantile(1.0 - p, df)
    if p == 0.5:
        return 0.0
    low, high = 0.0, 2.0
    while student_t_cdf(high, df) < p:
        low, high = high, high * 2.0
    for _ in range(200):
        middle = (low + high) / 2.0
        if student_t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
        if high - low <= 1e-12 * high:
            break
    return (low + high) / 2.0


@dataclass(frozen=True)
class Interval:
    low: float
    high: float

    def as_list(self) -> list[float]:
        return [self.low, self.high]


def mean(values: Sequence[float]) -> float | None:
    """The arithmetic mean; None for no values (never NaN)."""
    return math.fsum(values) / len(values) if values else None


def _two_sided(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"a confidence level is in (0, 1), got {level}")
    return 1.0 - (1.0 - level) / 2.0


def t_interval(
    values: Sequence[float], *, level: float = CONFIDENCE_LEVEL, bounds: tuple[float, float] = (0.0, 1.0)
) -> Interval | None:
    """Student t interval for the mean of ``values`` (one per prompt), clipped to ``bounds``
    (the range the values can take, so the interval never claims the impossible).

    None for fewer than two values (one prompt says nothing about the spread) and for values without
    any spread: a zero-width interval would claim certainty from ten equal prompts. For a quantity
    in [0, 1], ``bounded_interval`` has an answer then.
    """
    count = len(values)
    if count < 2:
        return None
    if any(not math.isfinite(value) for value in values):
        raise ValueError("interval over values that are not all finite numbers")
    center = math.fsum(values) / count
    if max(values) == min(values):
        return None
    variance = math.fsum((value - center) ** 2 for value in values) / (count - 1)
    half = student_t_quantile(_two_sided(level), count - 1) * math.sqrt(variance / count)
    low, high = bounds
    return Interval(max(low, center - half), min(high, center + half))


def wilson_interval(successes: int, count: int, *, level: float = CONFIDENCE_LEVEL) -> Interval | None:
    """Wilson's score interval for a proportion of independent trials; None for fewer than two."""
    if not 0 <= successes <= count:
        raise ValueError(f"need 0 <= successes <= count, got {successes} of {count}")
    return _wilson(successes / count, count, level) if count >= 2 else None


def _wilson(share: float, count: int, level: float) -> Interval:
    from statistics import NormalDist  # not at import: rftctl --help stays fast

    z = NormalDist().inv_cdf(_two_sided(level))
    z2 = z * z
    denominator = 1.0 + z2 / count
    center = (share + z2 / (2 * count)) / denominator
    half = z * math.sqrt(share * (1.0 - share) / count + z2 / (4 * count * count)) / denominator
    # Exact at the ends: no successes (or no failures) leaves nothing below 0 (above 1) to round to.
    low = 0.0 if share == 0.0 else max(0.0, center - half)
    high = 1.0 if share == 1.0 else min(1.0, center + half)
    return Interval(low, high)


def bounded_interval(values: Sequence[float], *, level: float = CONFIDENCE_LEVEL) -> Interval | None:
    """The mean of ``values`` in [0, 1] (one per prompt): the t interval, or, when the prompts show no
    spread at all, Wilson's interval over the prompts at their mean. A quantity in [0, 1] with mean p
    has a variance of at most p(1 - p), so the fallback is conservative where t has nothing to say."""
    interval = t_interval(values, level=level)
    if interval is not None or len(values) < 2:
        return interval
    share = values[0]
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"a bounded interval is for values in [0, 1], got {share}")
    return _wilson(share, len(values), level)
