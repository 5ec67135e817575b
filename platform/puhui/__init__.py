"""Puhui Open Platform core: the gateway, tenancy, OAuth and consent, lending and servicing."""

__version__ = "0.1.0"
__all__ = ["__version__"]
