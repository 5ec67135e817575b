"""Notices to SME customers (one-time codes) through a pluggable notifier."""

from puhui.notify.notifier import (
    Notice,
    Notifier,
    NotifierNotConfigured,
    SandboxNotifier,
    load_notifier,
    require_notifier,
)

__all__ = [
    "Notice",
    "Notifier",
    "NotifierNotConfigured",
    "SandboxNotifier",
    "load_notifier",
    "require_notifier",
]
