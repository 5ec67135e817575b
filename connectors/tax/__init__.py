"""Tax connector: VAT and income-tax returns, credit grade, arrears (entry point ``tax``)."""

from connectors.tax.connector import TaxConfig, connector

__all__ = ["TaxConfig", "connector"]
