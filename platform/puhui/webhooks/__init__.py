"""Outbound partner events: recorded in an outbox in the same unit of work as the change they
describe; signed delivery with retries is built on this outbox (webhooks issue)."""

from puhui.webhooks.service import record_partner_event

__all__ = ["record_partner_event"]
