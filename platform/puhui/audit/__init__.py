"""The audit trail: security-relevant events and API calls, written in the caller's unit of work."""

from puhui.audit.service import record_event

__all__ = ["record_event"]
