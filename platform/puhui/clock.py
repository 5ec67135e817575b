"""The one clock. All times are timezone-aware UTC; tests inject a fixed or movable clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "FrozenClock", "SystemClock", "clock", "set_clock", "utcnow"]


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    """Wall-clock time in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that stands still until moved: for tests and batch replays."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> None:
        self._at += delta


_clock: Clock = SystemClock()


def clock() -> Clock:
    return _clock


def set_clock(new: Clock) -> Clock:
    """Install another clock; returns the previous one so callers can restore it."""
    global _clock
    previous, _clock = _clock, new
    return previous


def utcnow() -> datetime:
    return _clock.now()
