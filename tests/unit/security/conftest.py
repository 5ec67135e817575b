"""Shared fixtures for the security primitives: a frozen clock and the optional real Redis."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from tests.conftest import freeze_clock

from puhui.clock import FrozenClock

# 2026-03-14 10:00:00 UTC = 18:00 China Standard Time
FROZEN_AT = datetime(2026, 3, 14, 10, 0, 0, tzinfo=UTC)


@pytest.fixture
def frozen_clock() -> Iterator[FrozenClock]:
    with freeze_clock(FROZEN_AT) as clock:
        yield clock


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("PUHUI_TEST_REDIS_URL")
    if not url:
        pytest.skip("PUHUI_TEST_REDIS_URL is not set; Redis-backed stores need a real Redis")
    return url
