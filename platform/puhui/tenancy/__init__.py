"""Tenants (partners and the bank), their members and roles, and the caller context."""
