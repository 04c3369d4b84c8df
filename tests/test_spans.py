import numpy as np
import pandas as pd
import pytest

from stbench.spans import SPANS, get_span, span_labels


def _labels(span, iso, offset_min=0, lat=48.0):
    return span_labels(span, pd.Series([pd.Timestamp(iso, tz="UTC")]), [offset_min], [lat])[0]


def test_season_is_hemisphere_aware():
    assert _labels("season", "2020-07-15T12:00:00") == 2  # northern summer
    assert _labels("season", "2020-07-15T12:00:00", lat=-33.9) == 0  # southern winter
    assert _labels("season", "2020-12-01T12:00:00") == 0
    assert _labels("season", "2020-12-01T12:00:00", lat=-33.9) == 2


def test_labels_use_local_civil_time():
    # 23:30 UTC on Dec 31 is 00:30 on Jan 1 at UTC+1: month 0, hour 0, next year.
    iso = "2019-12-31T23:30:00"
    assert _labels("month", iso, offset_min=60) == 0
    assert _labels("hour", iso, offset_min=60) == 0
    assert _labels("year", iso, offset_min=60) == 2020
    assert _labels("month", iso, offset_min=0) == 11


def test_week_last_bin_absorbs_days_365_and_366():
    assert _labels("week", "2020-12-31T12:00:00") == 51  # leap year, day 366
    assert _labels("week", "2021-01-07T12:00:00") == 0
    assert _labels("week", "2021-01-08T12:00:00") == 1


def test_missing_offset_or_time_gives_null():
    labels = span_labels(
        "hour", pd.Series([pd.NaT, pd.Timestamp("2020-01-01", tz="UTC")]), [0, None], [0, 0]
    )
    assert labels.isna().all()


@pytest.mark.parametrize(
    ("span", "a", "b", "expected"),
    [
        ("month", 11, 0, 1),
        ("hour", 23, 1, 2),
        ("season", 0, 3, 1),
        ("week", 0, 51, 1),
        ("month", 0, 6, 6),
        ("year", 2010, 2019, 9),
    ],
)
def test_circular_step_distance(span, a, b, expected):
    assert get_span(span).distance(np.array([a]), np.array([b]))[0] == expected


def test_unknown_span_is_a_clear_error():
    with pytest.raises(KeyError, match="known spans"):
        get_span("fortnight")


def test_registry_order_wide_to_narrow():
    assert list(SPANS) == ["season", "month", "week", "hour", "year"]
