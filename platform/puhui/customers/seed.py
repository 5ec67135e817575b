"""Sandbox SME customers: one enterprise and legal representative per connector persona.

Idempotent (found by USCC and by phone blind index); the sandbox password is public by design,
so this runs only from ``puhui.seed`` (which refuses outside the sandbox).
"""

from __future__ import annotations

from connectors.personas import PERSONAS, Persona

from puhui.config import Settings
from puhui.customers.models import CustomerRole, CustomerStatus, CustomerUser, Enterprise
from puhui.customers.repository import CustomerUserRepository, EnterpriseRepository
from puhui.db.session import SessionFactory
from puhui.security.keyring import DataKeyError, data_keyring, install_keyring, keyring

__all__ = ["SandboxCustomer", "sandbox_customers", "seed_customers"]

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _id_number(first17: str) -> str:
    """A well-formed resident ID number (GB 11643-1999 check character) for a synthetic person."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


class SandboxCustomer:
    """The sign-in of one seeded persona's legal representative."""

    def __init__(self, index: int, persona: Persona) -> None:
        self.persona = persona
        self.phone = f"1380013800{index}"
        self.id_number = _id_number(f"44030519800101{index:02d}1")


def sandbox_customers() -> list[SandboxCustomer]:
    return [SandboxCustomer(i, p) for i, p in enumerate(PERSONAS)]


async def seed_customers(
    settings: Settings, db: SessionFactory, password_hash: str
) -> list[SandboxCustomer]:
    """Create what is missing; return every persona's sign-in."""
    try:
        keyring()
    except DataKeyError:  # the CLI seeds without an app: sealing needs the keyring
        install_keyring(data_keyring(settings))
    seeded = sandbox_customers()
    async with db.unit_of_work() as session:
        enterprises = EnterpriseRepository(session)
        users = CustomerUserRepository(session)
        for customer in seeded:
            persona = customer.persona
            enterprise = await enterprises.by_uscc(persona.uscc)
            if enterprise is None:
                enterprise = enterprises.add(
                    Enterprise(
                        uscc=persona.uscc,
                        name=persona.name,
                        legal_representative=persona.legal_representative,
                    )
                )
                await enterprises.flush()
            if await users.by_phone(customer.phone) is None:
                user = CustomerUser(
                    enterprise_id=enterprise.id,
                    role=CustomerRole.LEGAL_REPRESENTATIVE,
                    status=CustomerStatus.ACTIVE,
                    password_hash=password_hash,
                )
                user.name = persona.legal_representative
                user.phone = customer.phone
                user.id_number = customer.id_number
                users.add(user)
        await users.flush()
    return seeded
