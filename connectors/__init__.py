"""Scenario connectors: the contract, the registry, the built-ins and their simulators."""
