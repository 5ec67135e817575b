"""Procurement connector: awards, contracts, orders, payments (entry point ``procurement``)."""

from connectors.procurement.connector import ProcurementConfig, connector

__all__ = ["ProcurementConfig", "connector"]
