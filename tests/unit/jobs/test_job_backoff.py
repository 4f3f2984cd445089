"""The retry schedule: exponential from 10 s, jittered by +-25 %, never past an hour."""

from datetime import timedelta

import pytest

from engine.jobs.backoff import CAP, backoff, nominal


def test_nominal_schedule_doubles_then_caps():
    assert [nominal(n).total_seconds() for n in range(1, 11)] == [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600]
    assert nominal(10_000) == CAP  # a huge attempt count neither overflows nor exceeds the cap


@pytest.mark.parametrize(("draw", "expected"), [(0.75, 15), (1.0, 20), (1.25, 25)])
def test_jitter_stretches_the_nominal_delay(draw, expected):
    assert backoff(2, uniform=lambda lo, hi: draw) == timedelta(seconds=expected)


def test_jitter_range_and_cap():
    seen = []
    backoff(1, uniform=lambda lo, hi: seen.append((lo, hi)) or lo)
    assert seen == [(0.75, 1.25)]
    assert backoff(12, uniform=lambda lo, hi: hi) == CAP  # jitter never lifts a delay past the cap


def test_attempts_start_at_one():
    with pytest.raises(ValueError, match="attempts starts at 1"):
        nominal(0)
