"""The reports' arithmetic: percentiles as PostgreSQL's percentile_cont, and business time
counted from an index exactly as the SLA clocks count it."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from helpdesk.services.reports.stats import BusinessTimeIndex, percentile, share
from helpdesk.sla_clock import BusinessHours, parse_periods

OFFICE = parse_periods("09:00-12:30, 13:30-18:00")
PARIS_OFFICE = BusinessHours(ZoneInfo("Europe/Paris"), (OFFICE,) * 5 + ((), ()),
                             frozenset({date(2025, 4, 21)}))


@pytest.mark.parametrize(("values", "q", "expected"), [
    ([], 50, None),
    ([7], 90, 7),
    ([600, 1200, 1800, 59400], 50, 1500),
    ([600, 1200, 1800, 59400], 90, 42120),
    ([300, 300, 1800, 3600, 61200], 90, 38160),
    ([3, 1, 2], 0, 1),
    ([3, 1, 2], 100, 3),
])
def test_percentiles_interpolate_between_the_nearest_ranks(values, q, expected):
    found = percentile(values, q)
    assert found is None if expected is None else found == pytest.approx(expected)


def test_shares_are_percentages_to_one_decimal():
    assert (share(1, 3), share(2, 3), share(0, 0)) == (33.3, 66.7, None)


def test_the_index_counts_what_business_hours_count_across_nights_weekends_dst_and_holidays():
    first = datetime(2025, 3, 20, tzinfo=UTC)  # daylight saving time starts on 30 March
    index = BusinessTimeIndex(PARIS_OFFICE, first, first + timedelta(days=40))
    rng = random.Random(8)
    starts = [first + timedelta(seconds=rng.randrange(35 * 86400)) for _ in range(500)]
    ends = [start + timedelta(seconds=rng.randrange(5 * 86400)) for start in starts]
    counted = index.seconds(instants(starts), instants(ends))
    assert counted.tolist() == [PARIS_OFFICE.between(start, end).total_seconds()
                                for start, end in zip(starts, ends, strict=True)]


def test_a_night_and_a_weekend_count_nothing():
    friday_evening = datetime(2025, 3, 7, 17, 0, tzinfo=ZoneInfo("Europe/Paris"))
    index = BusinessTimeIndex(PARIS_OFFICE, friday_evening, friday_evening + timedelta(days=4))
    monday = friday_evening + timedelta(days=2, hours=16, minutes=30)  # Monday 09:30
    assert index.seconds(instants([friday_evening]), instants([monday])).tolist() == [90 * 60]


def test_what_is_not_there_yet_stays_unknown():
    first = datetime(2025, 3, 3, tzinfo=UTC)
    index = BusinessTimeIndex(PARIS_OFFICE, first, first + timedelta(days=1))
    assert np.isnan(index.seconds(instants([first]), np.array([np.nan]))).all()


def instants(moments: list[datetime]) -> np.ndarray:
    return np.array([m.timestamp() for m in moments])
