"""Shared fixtures for the security primitives: a frozen clock and the optional real Redis."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from puhui.clock import FrozenClock, set_clock

# 2026-03-14 10:00:00 UTC = 18:00 China Standard Time
FROZEN_AT = datetime(2026, 3, 14, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def frozen_clock() -> Iterator[FrozenClock]:
    clock = FrozenClock(FROZEN_AT)
    previous = set_clock(clock)
    try:
        yield clock
    finally:
        set_clock(previous)


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("PUHUI_TEST_REDIS_URL")
    if not url:
        pytest.skip("PUHUI_TEST_REDIS_URL is not set; Redis-backed stores need a real Redis")
    return url
