"""When a failed job runs again: exponential backoff with jitter, capped.

Jitter spreads the retries of jobs that failed together (a mail server down for a minute) so they
do not all hit it again in the same second.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

BASE = timedelta(seconds=10)
CAP = timedelta(hours=1)
JITTER = 0.25  # each delay is drawn from [1 - JITTER, 1 + JITTER] times the nominal one


def nominal(attempts: int, *, base: timedelta = BASE, cap: timedelta = CAP) -> timedelta:
    """The delay after the `attempts`-th failed run: base, 2 x base, 4 x base, ... up to `cap`."""
    if attempts < 1:
        raise ValueError("attempts starts at 1")
    # min() on the exponent first keeps 2**n small for jobs allowed thousands of attempts.
    factor = 2 ** min(attempts - 1, 32)
    return min(base * factor, cap)


def backoff(attempts: int, *, uniform: Callable[[float, float], float] = random.uniform) -> timedelta:
    """The delay to wait after the `attempts`-th failed run, jittered; never more than CAP."""
    return min(nominal(attempts) * uniform(1 - JITTER, 1 + JITTER), CAP)
