"""Loan servicing from approval to the last repayment (JR/T 0269 9.4, 9.5, 8.5.2 b, 6.5.2 d).

Contracts and online signing, idempotent disbursement through the payment rail, the double-entry
ledger, persisted schedules, repayments, delinquency, early warning, renewals, model monitoring.
"""

__all__: list[str] = []
