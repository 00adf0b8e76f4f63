"""rftctl.statistics: the t quantile against published values and closed forms, and the intervals' properties."""

from __future__ import annotations

import math
import statistics

import pytest
from hypothesis import given, settings, strategies as st

from rftctl.statistics import (
    Interval,
    bounded_interval,
    mean,
    regularized_incomplete_beta,
    student_t_cdf,
    student_t_quantile,
    t_interval,
    wilson_interval,
)

# Quantiles of Student's t (p = 0.975: the two-sided 95% ones); printed tables such as NIST/SEMATECH's
# e-Handbook 1.3.6.7.2 give three decimals, these are the same values to nine.
PUBLISHED_QUANTILES = [
    (0.975, 1, 12.706204736),
    (0.975, 2, 4.302652730),
    (0.975, 3, 3.182446305),
    (0.975, 4, 2.776445105),
    (0.975, 5, 2.570581836),
    (0.975, 9, 2.262157163),
    (0.975, 10, 2.228138852),
    (0.975, 19, 2.093024054),
    (0.975, 29, 2.045229642),
    (0.975, 30, 2.042272456),
    (0.975, 100, 1.983971519),
    (0.975, 1000, 1.962339081),
    (0.975, 20_000, 1.960082605),  # the most prompts a dataset file may hold
    (0.995, 1, 63.656741163),
    (0.995, 10, 3.169272673),
    (0.95, 5, 2.015048373),
    (0.9, 20, 1.325340707),
]
probabilities = st.floats(min_value=0.501, max_value=0.9999)


@pytest.mark.parametrize("p,df,expected", PUBLISHED_QUANTILES)
def test_t_quantiles_match_published_values(p: float, df: int, expected: float) -> None:
    assert student_t_quantile(p, df) == pytest.approx(expected, abs=2e-9)
    assert student_t_quantile(1 - p, df) == pytest.approx(-expected, abs=2e-9)


def test_t_quantiles_approach_the_normal_one_from_above() -> None:
    normal = statistics.NormalDist().inv_cdf(0.975)
    quantiles = [student_t_quantile(0.975, df) for df in (50, 500, 5000, 50_000)]
    assert quantiles == sorted(quantiles, reverse=True) and quantiles[-1] > normal
    assert quantiles[-1] == pytest.approx(normal, abs=1e-4)


def series_two_sided(t: float, df: int) -> float:
    """P(|T| < t) by Abramowitz & Stegun 26.7.3 / 26.7.4: a finite series for whole degrees of freedom,
    an independent way to the same distribution."""
    theta = math.atan(t / math.sqrt(df))
    cos2 = math.cos(theta) ** 2
    if df % 2 == 0:
        term = total = 1.0
        for k in range(1, df // 2):
            term *= (2 * k - 1) / (2 * k) * cos2
            total += term
        return math.sin(theta) * total
    if df == 1:
        return 2 * theta / math.pi
    term = total = math.cos(theta)
    for k in range(1, (df - 1) // 2):
        term *= (2 * k) / (2 * k + 1) * cos2
        total += term
    return 2 / math.pi * (theta + math.sin(theta) * total)


@given(st.floats(min_value=-40.0, max_value=40.0), st.integers(min_value=1, max_value=80))
def test_the_distribution_function_agrees_with_the_finite_series(t: float, df: int) -> None:
    expected = 0.5 + math.copysign(series_two_sided(abs(t), df), t) / 2
    assert student_t_cdf(t, df) == pytest.approx(expected, abs=1e-12)


@given(probabilities)
def test_closed_forms_for_one_and_two_degrees_of_freedom(p: float) -> None:
    # df = 1 is the Cauchy distribution; df = 2 has t = (2p - 1) / sqrt(2 p (1 - p)).
    assert student_t_quantile(p, 1) == pytest.approx(math.tan(math.pi * (p - 0.5)), rel=1e-9)
    assert student_t_quantile(p, 2) == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)), rel=1e-9)


@given(probabilities, st.integers(min_value=1, max_value=500))
def test_the_quantile_inverts_the_distribution_function(p: float, df: int) -> None:
    assert student_t_cdf(student_t_quantile(p, df), df) == pytest.approx(p, abs=1e-10)


@given(st.floats(min_value=0.0, max_value=1.0), st.floats(min_value=0.05, max_value=50.0))
def test_incomplete_beta_closed_forms(x: float, a: float) -> None:
    # I_x(a, 1) = x^a and I_x(1, b) = 1 - (1 - x)^b.
    assert regularized_incomplete_beta(a, 1.0, x) == pytest.approx(x**a, abs=1e-12)
    assert regularized_incomplete_beta(1.0, a, x) == pytest.approx(1 - (1 - x) ** a, abs=1e-12)


@pytest.mark.parametrize(
    "call",
    [
        lambda: student_t_quantile(1.0, 3),
        lambda: student_t_quantile(0.0, 3),
        lambda: student_t_quantile(0.975, 0),
        lambda: regularized_incomplete_beta(0.0, 1.0, 0.5),
        lambda: regularized_incomplete_beta(1.0, 1.0, 1.5),
        lambda: wilson_interval(3, 2),
        lambda: t_interval([0.5, float("nan")]),
        lambda: t_interval([0.1, 0.2], level=1.0),
    ],
)
def test_nonsense_is_refused(call) -> None:
    with pytest.raises(ValueError):
        call()


def test_t_interval_by_hand() -> None:
    values = [0.2, 0.4, 0.9, 0.5]
    center, sd = statistics.fmean(values), statistics.stdev(values)
    half = 3.182446305 * sd / 2  # t(0.975, 3 df) * s / sqrt(4)
    interval = t_interval(values)
    assert interval is not None
    assert (interval.low, interval.high) == pytest.approx((center - half, min(1.0, center + half)))


def test_t_interval_edge_cases() -> None:
    assert t_interval([]) is None and t_interval([0.7]) is None  # one prompt: no interval
    # Equal values: no spread for t to work from; a zero-width interval would claim certainty.
    assert t_interval([0.3, 0.3, 0.3]) is None
    # In [0, 1], Wilson's interval over the prompts instead: ten prompts all at 1.0 are not proof of 1.0.
    assert bounded_interval([1.0] * 10) == wilson_interval(10, 10)
    assert bounded_interval([1.0] * 10).low == pytest.approx(0.7225, abs=1e-4)
    assert bounded_interval([0.5] * 10) == wilson_interval(5, 10)
    assert bounded_interval([0.25] * 3).low < 0.25 < bounded_interval([0.25] * 3).high  # any share, not whole counts
    assert bounded_interval([0.2, 0.4]) == t_interval([0.2, 0.4]) and bounded_interval([0.4]) is None
    assert t_interval([0.0, 1.0]) == Interval(0.0, 1.0)  # 12.7 standard errors: clipped to what rewards can be
    assert t_interval([-1.0, 1.0], bounds=(-1.0, 1.0)) == Interval(-1.0, 1.0)
    assert mean([]) is None


def test_wilson_interval_by_hand() -> None:
    z = 1.959963984540054  # the normal 97.5% quantile
    n, share = 10, 0.4
    center = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    interval = wilson_interval(4, 10)
    assert interval is not None
    assert (interval.low, interval.high) == pytest.approx((center - half, center + half))
    assert (round(interval.low, 4), round(interval.high, 4)) == (0.1682, 0.6873)
    assert wilson_interval(0, 10) == Interval(0.0, pytest.approx(0.2775, abs=1e-4))
    assert wilson_interval(10, 10) == Interval(pytest.approx(0.7225, abs=1e-4), 1.0)
    assert wilson_interval(1, 1) is None


unit_values = st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=2, max_size=40)


@settings(max_examples=200)
@given(unit_values)
def test_a_t_interval_holds_the_mean_within_the_bounds(values: list[float]) -> None:
    interval = bounded_interval(values)  # t, or Wilson when the values show no spread
    assert interval is not None
    center = mean(values)
    assert center is not None
    assert 0.0 <= interval.low <= center + 1e-12 and center - 1e-12 <= interval.high <= 1.0


@given(unit_values)
def test_a_t_interval_narrows_with_more_prompts(values: list[float]) -> None:
    """The same spread seen on twice as many prompts is better evidence (no spread: Wilson's, which narrows too)."""
    first, doubled = bounded_interval(values), bounded_interval(values * 2)
    assert first is not None and doubled is not None
    assert doubled.high - doubled.low <= first.high - first.low + 1e-12


@given(st.integers(min_value=2, max_value=500), st.data())
def test_a_wilson_interval_holds_the_rate_within_0_and_1(count: int, data: st.DataObject) -> None:
    successes = data.draw(st.integers(min_value=0, max_value=count))
    interval = wilson_interval(successes, count)
    assert interval is not None
    assert 0.0 <= interval.low <= successes / count <= interval.high <= 1.0
    larger = wilson_interval(successes * 4, count * 4)
    assert larger is not None and larger.high - larger.low < interval.high - interval.low
