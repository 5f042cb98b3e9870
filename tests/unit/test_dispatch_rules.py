"""The dispatch rules: what an attempt makes of a dispatch, and the retry schedule."""

import pytest

from domain.dispatch import (DEFAULT_RETRY_SCHEDULE_S, Attempt, DispatchState, after_attempt, parse_schedule)

SCHEDULE = (5, 300)


def failed(at_ms=1_000, final=False) -> Attempt:
    return Attempt(at_ms, 12, False, "HTTP 500", 500, "oops", final)


def test_the_default_schedule_is_svix_s_day_of_retries():
    assert DEFAULT_RETRY_SCHEDULE_S == (5, 300, 1800, 7200, 18000, 36000, 36000)
    assert sum(DEFAULT_RETRY_SCHEDULE_S) / 3600 == pytest.approx(27.6, abs=0.1)  # ≈27 h


def test_each_failure_waits_its_turn_of_the_schedule_then_the_dispatch_dies():
    first = after_attempt(DispatchState("pending"), 1, failed(1_000), SCHEDULE)
    second = after_attempt(first, 2, failed(9_000), SCHEDULE)
    third = after_attempt(second, 3, failed(400_000), SCHEDULE)

    assert first == DispatchState("retrying", 6_000, "HTTP 500")
    assert second == DispatchState("retrying", 309_000, "HTTP 500")
    assert third.status == "dead" and third.next_attempt_at_ms is None
    assert third.last_error == "HTTP 500 (no retry left after 3 attempts)"


def test_a_failure_no_retry_can_heal_is_dead_at_once():
    assert after_attempt(DispatchState("pending"), 1, failed(final=True), SCHEDULE) == DispatchState(
        "dead", None, "HTTP 500")


def test_a_delivery_settles_it_and_keeps_the_last_failure_for_the_record():
    retrying = DispatchState("retrying", 6_000, "HTTP 500")

    assert after_attempt(retrying, 2, Attempt(7_000, 3, True, status_code=200), SCHEDULE) == DispatchState(
        "delivered", None, "HTTP 500", 7_000)


def test_a_failed_resend_of_a_dead_or_delivered_dispatch_leaves_its_status():
    dead, delivered = DispatchState("dead", None, "old"), DispatchState("delivered", None, None, 5)

    assert after_attempt(dead, 9, failed(), SCHEDULE) == DispatchState("dead", None, "HTTP 500")
    assert after_attempt(delivered, 2, failed(), SCHEDULE) == DispatchState("delivered", None, "HTTP 500", 5)


@pytest.mark.parametrize("text, expected", [("5,300", (5, 300)), (" 0.2 , 1.5,", (0.2, 1.5)), ("", ())])
def test_a_schedule_is_seconds_separated_by_commas(text, expected):
    assert parse_schedule(text) == expected


@pytest.mark.parametrize("text", ["5;300", "-1", "nan", "1e12"])
def test_a_schedule_that_is_not_one_is_refused(text):
    with pytest.raises(ValueError):
        parse_schedule(text)
