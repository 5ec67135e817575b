"""Scenario connectors, platform side: instances, consent-gated syncs, records and features.

The connector framework (``connectors``) fetches and normalises; this domain persists what it
yields with provenance (JR/T 0269 6.3.2 c), keeps cursors with the records they cover, serves
degraded data during outages (6.3.2 d) and destroys data when its lawful basis ends (6.1).
"""
