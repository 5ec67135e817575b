"""SME customers of the bank: enterprises and the people who sign in for them.

JR/T 0269 6.3.2 e: the customer authenticates at the bank, never at the partner.
"""
