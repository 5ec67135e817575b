"""Consent as a first-class resource: what a customer lets a partner and the bank do with data."""
