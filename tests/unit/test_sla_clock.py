"""Business-time arithmetic: opening hours, nights, weekends, holidays, daylight saving time,
pauses and the next-response cycle."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from helpdesk.sla_clock import (
    WALL_CLOCK,
    BusinessHours,
    Pause,
    deadline,
    format_periods,
    parse_periods,
    pauses_of,
    response_cycle,
)

PARIS = ZoneInfo("Europe/Paris")
OFFICE = parse_periods("09:00-12:30, 13:30-18:00")  # 8 hours a day
CLOSED = ()
EASTER_MONDAY_2025 = date(2025, 4, 21)


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def weekdays(periods=OFFICE, *, holidays=(), zone=PARIS) -> BusinessHours:
    """Open Monday to Friday."""
    return BusinessHours(zone, (periods,) * 5 + (CLOSED, CLOSED), frozenset(holidays))


def every_day(periods) -> BusinessHours:
    return BusinessHours(PARIS, (periods,) * 7)


ALL_DAY = every_day(parse_periods("00:00-24:00"))


# --- reading and writing opening periods ---------------------------------------------------

def test_periods_are_read_sorted_and_written_back():
    assert parse_periods(" 13:30-18:00 ,09:00 - 12:30") == ((540, 750), (810, 1080))
    assert format_periods(OFFICE) == "09:00-12:30, 13:30-18:00"
    assert parse_periods("00:00-24:00") == ((0, 1440),)
    assert parse_periods("") == parse_periods(" , ") == ()


@pytest.mark.parametrize(("text", "problem"), [
    ("9h-12h", "not a period such as 09:00-12:30"),
    ("09:00-25:00", "not between 00:00 and 24:00"),
    ("09:75-10:00", "not between 00:00 and 24:00"),
    ("12:00-09:00", "ends before it starts"),
    ("10:00-10:00", "ends before it starts"),
    ("09:00-13:00, 12:00-18:00", "overlap"),
])
def test_a_wrong_period_is_refused_saying_why(text, problem):
    with pytest.raises(ValueError, match=problem):
        parse_periods(text)


def test_touching_periods_are_allowed():
    assert parse_periods("09:00-12:00, 12:00-13:00") == ((540, 720), (720, 780))


def test_business_hours_need_seven_days_and_some_opening():
    with pytest.raises(ValueError, match="one entry per weekday"):
        BusinessHours(PARIS, (OFFICE,) * 5)
    with pytest.raises(ValueError, match="at least one opening period"):
        BusinessHours(PARIS, (CLOSED,) * 7)


# --- adding business time ---------------------------------------------------------------------

def test_within_one_morning():
    assert weekdays().add(paris(2025, 3, 4, 9, 30), hours(2)) == paris(2025, 3, 4, 11, 30)


def test_the_lunch_break_does_not_count():
    assert weekdays().add(paris(2025, 3, 4, 11, 30), hours(2)) == paris(2025, 3, 4, 14, 30)


def test_a_target_ending_at_closing_time_is_due_at_closing_time():
    assert weekdays().add(paris(2025, 3, 4, 9, 0), hours(8)) == paris(2025, 3, 4, 18, 0)


def test_created_at_night_counts_from_the_next_opening():
    assert weekdays().add(paris(2025, 3, 4, 23, 40), hours(1)) == paris(2025, 3, 5, 10, 0)
    assert weekdays().add(paris(2025, 3, 5, 3, 0), hours(1)) == paris(2025, 3, 5, 10, 0)


def test_created_on_a_weekend_counts_from_monday():
    assert weekdays().add(paris(2025, 3, 8, 14, 0), hours(4)) == paris(2025, 3, 10, 14, 0)


def test_friday_evening_rolls_over_the_weekend():
    assert weekdays().add(paris(2025, 3, 7, 17, 0), hours(2)) == paris(2025, 3, 10, 10, 0)


def test_created_on_a_holiday_counts_from_the_next_working_day():
    calendar = weekdays(holidays=[EASTER_MONDAY_2025])
    assert calendar.add(paris(2025, 4, 21, 10, 0), hours(1)) == paris(2025, 4, 22, 10, 0)
    # Friday evening before it: the weekend and the holiday are skipped.
    assert calendar.add(paris(2025, 4, 18, 17, 30), hours(1)) == paris(2025, 4, 22, 9, 30)


def test_a_long_target_spans_weeks():
    # 40 hours = five full days.
    assert weekdays().add(paris(2025, 3, 3, 9, 0), hours(40)) == paris(2025, 3, 7, 18, 0)
    assert weekdays().add(paris(2025, 3, 3, 9, 1), hours(40)) == paris(2025, 3, 10, 9, 1)


def test_adding_nothing_is_the_start_and_results_are_utc():
    start = paris(2025, 3, 8, 14, 0)
    assert weekdays().add(start, timedelta(0)) == start
    assert weekdays().add(paris(2025, 3, 4, 9, 0), hours(1)).tzinfo == UTC


def test_the_time_zone_of_the_calendar_decides_the_day():
    tokyo = BusinessHours(ZoneInfo("Asia/Tokyo"), (parse_periods("09:00-18:00"),) * 5
                          + (CLOSED, CLOSED))
    # Monday 01:00 UTC is Monday 10:00 in Tokyo.
    start = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)
    assert tokyo.add(start, hours(1)) == datetime(2025, 3, 3, 2, 0, tzinfo=UTC)


# --- daylight saving time (Europe/Paris: last Sundays of March and October) -----------------

def test_business_hours_across_the_spring_change():
    # Friday 28 March 2025 17:00 CET (UTC+1); Monday 31 March is in CEST (UTC+2).
    due = weekdays().add(paris(2025, 3, 28, 17, 0), hours(4))
    assert due == paris(2025, 3, 31, 12, 0)
    assert due == datetime(2025, 3, 31, 10, 0, tzinfo=UTC)


def test_business_hours_across_the_autumn_change():
    due = weekdays().add(paris(2025, 10, 24, 17, 0), hours(4))
    assert due == paris(2025, 10, 27, 12, 0)
    assert due == datetime(2025, 10, 27, 11, 0, tzinfo=UTC)


def test_a_round_the_clock_calendar_has_a_23_hour_spring_sunday_and_a_25_hour_autumn_one():
    assert ALL_DAY.between(paris(2025, 3, 30), paris(2025, 3, 31)) == hours(23)
    assert ALL_DAY.between(paris(2025, 10, 26), paris(2025, 10, 27)) == hours(25)


def test_one_hour_at_night_over_the_spring_jump():
    # 01:30 CET + 1 real hour = 03:30 CEST: the local clock moved two hours.
    due = ALL_DAY.add(paris(2025, 3, 30, 1, 30), hours(1))
    assert due == datetime(2025, 3, 30, 1, 30, tzinfo=UTC)
    assert due.astimezone(PARIS).hour == 3


def test_two_hours_at_night_over_the_autumn_fall_back():
    # 01:30 CEST + 2 real hours = 02:30 CET, the second 02:30 of that night.
    due = ALL_DAY.add(paris(2025, 10, 26, 1, 30), hours(2))
    assert due == datetime(2025, 10, 26, 1, 30, tzinfo=UTC)
    assert due.astimezone(PARIS).strftime("%H:%M %Z") == "02:30 CET"


def test_the_wall_clock_counts_real_time_across_a_change():
    assert WALL_CLOCK.between(paris(2025, 3, 30), paris(2025, 3, 31)) == hours(23)
    assert WALL_CLOCK.add(paris(2025, 3, 29, 12, 0), hours(24)) == paris(2025, 3, 30, 13, 0)


# --- measuring business time ----------------------------------------------------------------

def test_between_counts_only_opening_hours():
    calendar = weekdays()
    assert calendar.between(paris(2025, 3, 4, 8, 0), paris(2025, 3, 4, 20, 0)) == hours(8)
    assert calendar.between(paris(2025, 3, 7, 17, 0), paris(2025, 3, 10, 10, 0)) == hours(2)
    assert calendar.between(paris(2025, 3, 8, 10, 0), paris(2025, 3, 9, 10, 0)) == timedelta(0)


def test_between_is_negative_backwards_and_inverts_add():
    calendar = weekdays(holidays=[EASTER_MONDAY_2025])
    start = paris(2025, 4, 17, 16, 20)
    for amount in (minutes(1), hours(3), hours(17), hours(50)):
        due = calendar.add(start, amount)
        assert calendar.between(start, due) == amount
        assert calendar.between(due, start) == -amount


def test_a_holiday_counts_nothing():
    calendar = weekdays(holidays=[EASTER_MONDAY_2025])
    assert calendar.between(paris(2025, 4, 21), paris(2025, 4, 22)) == timedelta(0)
    assert calendar.periods_on(EASTER_MONDAY_2025) == []


# --- pauses ------------------------------------------------------------------------------------

def test_pauses_are_read_from_a_history_of_states():
    t = [paris(2025, 3, 4, h) for h in range(9, 15)]
    history = [(t[0], False), (t[1], True), (t[2], True), (t[3], False), (t[4], True)]
    assert pauses_of(history) == [Pause(t[1], t[3]), Pause(t[4])]
    assert pauses_of([(t[0], False), (t[1], False)]) == []


def test_a_running_clock():
    start = paris(2025, 3, 4, 9, 0)
    at = deadline(weekdays(), start, hours(4), [], now=paris(2025, 3, 4, 10, 0))
    assert (at.due_at, at.remaining, at.paused) == (paris(2025, 3, 4, 14, 0), hours(3), False)


def test_an_overdue_clock_has_negative_remaining_time():
    at = deadline(weekdays(), paris(2025, 3, 4, 9, 0), hours(1), [], paris(2025, 3, 4, 11, 0))
    assert (at.due_at, at.remaining) == (paris(2025, 3, 4, 10, 0), -hours(1))


def test_a_paused_clock_has_no_due_time_and_keeps_its_remaining_time():
    start = paris(2025, 3, 4, 9, 0)
    pending = [Pause(paris(2025, 3, 4, 10, 0))]
    at = deadline(weekdays(), start, hours(4), pending, now=paris(2025, 3, 6, 15, 0))
    assert (at.due_at, at.remaining, at.paused) == (None, hours(3), True)


def test_paused_then_resumed_the_due_time_moves_by_the_business_time_paused():
    start = paris(2025, 3, 4, 9, 0)  # Tuesday
    # Pending from 10:00 until the customer answers on Thursday at 16:00.
    pauses = [Pause(paris(2025, 3, 4, 10, 0), paris(2025, 3, 6, 16, 0))]
    at = deadline(weekdays(), start, hours(4), pauses, now=paris(2025, 3, 6, 16, 0))
    assert at.due_at == paris(2025, 3, 7, 10, 0)  # 3 hours left: 2 on Thursday, 1 on Friday
    assert at.remaining == hours(3)


def test_a_pause_after_the_due_time_does_not_save_a_late_clock():
    start = paris(2025, 3, 4, 9, 0)
    pauses = [Pause(paris(2025, 3, 4, 11, 0))]
    at = deadline(weekdays(), start, hours(1), pauses, now=paris(2025, 3, 4, 12, 0))
    assert (at.due_at, at.remaining) == (paris(2025, 3, 4, 10, 0), -hours(2))


def test_a_pause_not_begun_yet_is_ignored_and_one_before_the_start_too():
    start = paris(2025, 3, 4, 9, 0)
    pauses = [Pause(paris(2025, 3, 3, 9, 0), paris(2025, 3, 3, 10, 0)),
              Pause(paris(2025, 3, 4, 11, 0))]
    at = deadline(weekdays(), start, hours(4), pauses, now=paris(2025, 3, 4, 10, 0))
    assert at.due_at == paris(2025, 3, 4, 14, 0)


def test_paused_from_the_start_as_with_the_assistant():
    start = paris(2025, 3, 4, 9, 0)
    pauses = [Pause(start, paris(2025, 3, 4, 9, 45))]
    at = deadline(WALL_CLOCK, start, minutes(30), pauses, now=paris(2025, 3, 4, 9, 50))
    assert at.due_at == paris(2025, 3, 4, 10, 15)


def test_several_pauses_in_wall_clock_time():
    start = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
    pauses = [Pause(start + minutes(10), start + minutes(30)),
              Pause(start + minutes(40), start + minutes(100))]
    at = deadline(WALL_CLOCK, start, minutes(60), pauses, now=start + minutes(100))
    assert at.due_at == start + minutes(140)  # 10 + 10 counted, 40 left from 100


# --- the next-response cycle --------------------------------------------------------------------

def test_the_next_response_cycle_starts_with_the_customer_writing_after_an_agent_reply():
    t = [paris(2025, 3, 4, 9, m) for m in range(0, 60, 5)]
    customer, agent = False, True
    assert response_cycle([(t[0], customer)]) is None  # the first response is another metric
    assert response_cycle([(t[0], customer), (t[1], agent)]) is None
    thread = [(t[0], customer), (t[1], agent), (t[2], customer), (t[3], customer)]
    assert response_cycle(thread) == (t[2], None)  # waiting since the first of the two
    assert response_cycle([*thread, (t[4], agent)]) == (t[2], t[4])
    assert response_cycle([*thread, (t[4], agent), (t[5], agent)]) == (t[2], t[4])
    assert response_cycle([*thread, (t[4], agent), (t[6], customer)]) == (t[6], None)


def test_a_pause_beginning_right_now_has_begun():
    start, now = paris(2025, 3, 4, 9, 0), paris(2025, 3, 4, 10, 0)
    at = deadline(weekdays(), start, hours(4), [Pause(now)], now=now)
    assert (at.due_at, at.remaining) == (None, hours(3))
