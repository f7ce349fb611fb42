"""Dates as Jira CSV exports write them, in five languages, to microseconds UTC.

Expected values are microseconds since 1970-01-01T00:00:00Z, worked out from the UTC time
in the comment beside each (seconds since the epoch x 1,000,000).
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vsm_core.ingest.localdates import (
    DAY_FIRST,
    MONTH_FIRST,
    MONTHS,
    detect_day_order,
    make_parser,
    parse_local_datetime,
    parser_for_column,
)
from vsm_core.timeparse import UTC, to_micros

ENGLISH_MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
SPANISH_MONTHS = "ene. feb. mar. abr. may. jun. jul. ago. sept. oct. nov. dic.".split()
MADRID = ZoneInfo("Europe/Madrid")

DEC_22_1438Z = 1_766_414_280_000_000  # 2025-12-22T14:38:00Z
DEC_22_1338Z = 1_766_410_680_000_000  # 2025-12-22T13:38:00Z
JUL_07_2038Z = 1_751_920_680_000_000  # 2025-07-07T20:38:00Z


@pytest.mark.parametrize(
    "text, expected",
    [
        pytest.param("22/Dec/25 2:38 PM", DEC_22_1438Z, id="jira-default-english"),
        pytest.param("10/nov/25 4:51 PM", 1_762_793_460_000_000, id="lowercase-month"),  # 2025-11-10T16:51Z
        pytest.param("22/dic./25 2:38 p. m.", DEC_22_1438Z, id="spanish-dotted-month-and-pm"),
        pytest.param("05/févr./24 09:15", 1_707_124_500_000_000, id="french-fevr"),  # 2024-02-05T09:15Z
        pytest.param("12/Mär/24 10:00", 1_710_237_600_000_000, id="german-maerz"),  # 2024-03-12T10:00Z
        pytest.param("12/Mrz/24 10:00", 1_710_237_600_000_000, id="german-mrz"),
        pytest.param("3/janv./25 11:05 AM", 1_735_902_300_000_000, id="french-janv-am"),  # 2025-01-03T11:05Z
        pytest.param("10/out/25 4:51 PM", 1_760_115_060_000_000, id="portuguese-outubro"),  # 2025-10-10T16:51Z
        pytest.param("05/dez/25 10:00 AM", 1_764_928_800_000_000, id="portuguese-dezembro"),  # 2025-12-05T10:00Z
        pytest.param("01/août/25 08:00", 1_754_035_200_000_000, id="french-aout"),  # 2025-08-01T08:00Z
        pytest.param("01/AOUT/25 08:00", 1_754_035_200_000_000, id="accentless-uppercase"),
        pytest.param("22/December/25 2:38 PM", DEC_22_1438Z, id="full-month-name"),
        pytest.param("22/diciembre/2025 14:38", DEC_22_1438Z, id="spanish-full-name-4-digit-year"),
        pytest.param("22/Dec/2025 2:38 PM", DEC_22_1438Z, id="four-digit-year"),
        pytest.param("22. Dez. 2025 14:38", DEC_22_1438Z, id="german-long-form"),
        pytest.param("2025-07-07 20:38:47.182", 1_751_920_727_182_000, id="iso-with-millis"),  # 2025-07-07T20:38:47.182Z
        pytest.param("2025-07-07 20:38", JUL_07_2038Z, id="iso-minutes"),
        pytest.param("2014-11-24T08:13:13.390+0100", 1_416_813_193_390_000, id="iso-offset"),  # 2014-11-24T07:13:13.39Z
        pytest.param("07.07.2025 20:38", JUL_07_2038Z, id="german-numeric"),
        pytest.param("07/07/2025 20:38", JUL_07_2038Z, id="slash-numeric"),
        pytest.param("2025/07/07 8:38 PM", JUL_07_2038Z, id="year-first-12h"),
        pytest.param("22/Dec/25", 1_766_361_600_000_000, id="date-only-alpha"),  # 2025-12-22T00:00Z
        pytest.param("07.07.2025", 1_751_846_400_000_000, id="date-only-dotted"),  # 2025-07-07T00:00Z
        pytest.param("2025-07-07", 1_751_846_400_000_000, id="date-only-iso"),
        pytest.param("  22/Dec/25 2:38 PM  ", DEC_22_1438Z, id="surrounding-spaces"),
    ],
)
def test_jira_date_shapes_read_as_utc(text: str, expected: int) -> None:
    assert parse_local_datetime(text, UTC) == expected


@pytest.mark.parametrize(
    "text",
    [
        "22/dic/25 2:38\u202fp.\u00a0m.",  # narrow and ordinary non-breaking spaces (CLDR)
        "22/dic/25 2:38\u00a0PM",
        "22/Dec/25 2:38 p.m.",
        "22/Dec/25 2:38PM",
        "22/DEC/25 2:38 pm",
    ],
)
def test_ampm_markers_in_every_spelling(text: str) -> None:
    assert parse_local_datetime(text, UTC) == DEC_22_1438Z


def test_twelve_am_is_midnight_and_twelve_pm_is_noon() -> None:
    assert parse_local_datetime("12/Jan/26 12:05 AM") == 1_768_176_300_000_000  # 2026-01-12T00:05Z
    assert parse_local_datetime("12/Jan/26 12:30 PM") == 1_768_221_000_000_000  # 2026-01-12T12:30Z


def test_two_digit_years_pivot_at_68() -> None:
    assert parse_local_datetime("1/Jan/00 12:00 AM") == 946_684_800_000_000  # 2000-01-01T00:00Z
    assert parse_local_datetime("31/Dec/68") == 3_124_137_600_000_000  # 2068-12-31T00:00Z
    assert parse_local_datetime("1/Jan/69 12:30 PM") == -31_491_000_000_000  # 1969-01-01T12:30Z
    assert parse_local_datetime("1/Jan/99") == 915_148_800_000_000  # 1999-01-01T00:00Z


def test_zone_less_times_are_read_in_the_given_zone() -> None:
    assert parse_local_datetime("22/Dec/25 2:38 PM", MADRID) == DEC_22_1338Z  # CET, +01:00
    assert parse_local_datetime("07.07.2025 20:38", MADRID) == 1_751_913_480_000_000  # CEST: 18:38Z
    assert parse_local_datetime("22/Dec/25 2:38 PM", timezone(timedelta(hours=-5))) == 1_766_432_280_000_000  # 19:38Z


def test_an_explicit_offset_wins_over_the_given_zone() -> None:
    assert parse_local_datetime("2014-11-24T08:13:13.390+0100", MADRID) == 1_416_813_193_390_000


def test_empty_is_none() -> None:
    assert parse_local_datetime("") is None
    assert parse_local_datetime("   ") is None
    assert parse_local_datetime(None) is None


@pytest.mark.parametrize(
    "text",
    ["garbage", "32/Dec/25", "22/Foo/25 10:00", "13:00", "22/Dec/25 13:00 PM", "2025", "1/2", "31/02/2025", "22/Dec/25 25:00"],
)
def test_garbage_raises_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_local_datetime(text)


def test_month_table_covers_five_languages_without_clashes() -> None:
    expected = {
        "ene": 1, "jän": 1, "janv": 1, "fev": 2, "févr": 2, "mär": 3, "mrz": 3, "mars": 3, "abr": 4,
        "avr": 4, "mai": 5, "may": 5, "juin": 6, "juil": 7, "ago": 8, "août": 8, "set": 9, "sept": 9,
        "okt": 10, "out": 10, "dic": 12, "dez": 12, "déc": 12, "dec": 12, "março": 3, "marco": 3,
    }
    assert {name: MONTHS[name] for name in expected} == expected


def test_column_with_a_day_above_12_is_day_first() -> None:
    assert detect_day_order(["01/02/2025 10:00", "13/02/2025 10:00"]) == DAY_FIRST


def test_column_with_a_second_field_above_12_is_month_first() -> None:
    assert detect_day_order(["01/02/2025 10:00", "02/13/2025 10:00", ""]) == MONTH_FIRST
    parse = parser_for_column(["01/02/2025 10:00", "02/13/2025 10:00"], UTC)
    assert parse("01/02/2025 10:00") == 1_735_812_000_000_000  # 2025-01-02T10:00Z
    assert parse("02/13/2025 10:00") == 1_739_440_800_000_000  # 2025-02-13T10:00Z


def test_ambiguous_column_defaults_to_day_first_like_jira() -> None:
    assert detect_day_order(["01/02/2025", "03/04/2025", "22/Dec/25"]) == DAY_FIRST
    assert parser_for_column(["01/02/2025"])("01/02/2025") == 1_738_368_000_000_000  # 2025-02-01T00:00Z


def test_dotted_dates_stay_day_first_in_a_month_first_column() -> None:
    parse = make_parser(MONTH_FIRST, UTC)
    assert parse("07.08.2025") == parse_local_datetime("7/Aug/2025")
    assert parse("08/07/2025") == parse_local_datetime("7/Aug/2025")


def test_unknown_order_is_refused() -> None:
    with pytest.raises(ValueError):
        make_parser("ymd")


def _sample_dates(count: int) -> list[str]:
    """Jira-like date strings of four shapes, mostly distinct (minute or finer resolution)."""
    rng = random.Random(3)
    months = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
    spanish = "ene feb mar abr may jun jul ago sept oct nov dic".split()
    values = []
    for i in range(count):
        y, mo, d, h, mi = 2023 + i % 3, rng.randrange(1, 13), rng.randrange(1, 29), rng.randrange(24), rng.randrange(60)
        h12, pm = (h % 12 or 12), h >= 12
        shape = i % 4
        if shape == 0:
            values.append(f"{d}/{months[mo - 1]}/{y % 100} {h12}:{mi:02d} {'PM' if pm else 'AM'}")
        elif shape == 1:
            values.append(f"{d}/{spanish[mo - 1]}./{y % 100} {h12}:{mi:02d} {'p. m.' if pm else 'a. m.'}")
        elif shape == 2:
            values.append(f"{y}-{mo:02d}-{d:02d} {h:02d}:{mi:02d}:{rng.randrange(60):02d}.{rng.randrange(1000):03d}")
        else:
            values.append(f"{d:02d}.{mo:02d}.{y} {h:02d}:{mi:02d}")
    return values


def test_three_hundred_thousand_dates_parse_in_under_one_and_a_half_seconds() -> None:
    values = _sample_dates(300_000)
    best = float("inf")
    for _ in range(2):  # best of two: a busy machine should not fail the build
        parse = make_parser(DAY_FIRST, MADRID)
        start = time.perf_counter()
        for value in values:
            parse(value)
        best = min(best, time.perf_counter() - start)
        if best < 1.5:
            break
    assert best < 1.5, f"{best:.2f}s"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_a_time_none_or_a_value_error(text: str) -> None:
    try:
        value = parse_local_datetime(text)
    except ValueError:
        return
    assert value is None or isinstance(value, int)


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(1969, 1, 1), max_value=datetime(2068, 12, 31)), st.sampled_from(["en", "es"]))
def test_jira_default_format_round_trips_to_the_minute(moment: datetime, language: str) -> None:
    moment = moment.replace(second=0, microsecond=0)
    names = ENGLISH_MONTHS if language == "en" else SPANISH_MONTHS
    marker = ("PM" if moment.hour >= 12 else "AM") if language == "en" else ("p. m." if moment.hour >= 12 else "a. m.")
    text = f"{moment.day}/{names[moment.month - 1]}/{moment.year % 100:02d} {moment.hour % 12 or 12}:{moment.minute:02d} {marker}"
    assert parse_local_datetime(text, UTC) == to_micros(moment, UTC)
