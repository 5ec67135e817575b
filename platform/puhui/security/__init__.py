"""API security primitives (JR/T 0185-2020) and data-protection rules (JR/T 0171-2020).

Pure building blocks, wired into the request pipeline by the gateway: message signatures and
content digests, anti-replay nonces, rate limits, IP rules, classification and masking, log
redaction, field encryption and the audit hash chain. Import from the submodules.
"""

__all__: list[str] = []
