"""Utilities connector: water and electricity usage, bills, arrears (entry point ``utilities``)."""

from connectors.utilities.connector import UtilitiesConfig, connector

__all__ = ["UtilitiesConfig", "connector"]
