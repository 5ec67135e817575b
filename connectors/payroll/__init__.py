"""Payroll connector: headcount, payroll totals, social insurance (entry point ``payroll``)."""

from connectors.payroll.connector import PayrollConfig, connector

__all__ = ["PayrollConfig", "connector"]
