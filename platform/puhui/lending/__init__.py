"""Lending and loan servicing (JR/T 0269 9.4-9.5).

The pure loan mathematics lives in small modules with no I/O: ``daycount`` (accrual
conventions), ``schedules`` (repayment schedules, prepayment), ``apr`` (IRR-method APR and cost
of credit), ``allocation`` (repayment order) and ``delinquency`` (DPD, penalty interest,
five-category classification).
"""

__all__: list[str] = []
