"""The sandbox core-banking system: idempotent transfers and auto-debits over HTTP, with faults.

A small Litestar app for loopback use (``puhui servicing corebank``). The same idempotency key
always names the same transfer: a repeat returns the original, a repeat with different terms
is a 409. Faults can be injected to prove the platform never pays twice: fail before applying,
apply then fail (outcome unknown to the caller), or apply then stall past the caller's timeout.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Literal

import msgspec
from litestar import Litestar, get, post
from litestar.exceptions import HTTPException
from litestar.params import FromPath, JSONBody

from puhui.clock import utcnow

__all__ = ["CoreBank", "create_corebank_app"]

FaultMode = Literal["none", "fail_before", "fail_after", "stall_after"]


class TransferRequest(msgspec.Struct, frozen=True, kw_only=True):
    idempotency_key: str
    amount_fen: int
    payee_account: str
    reference: str


class Transfer(msgspec.Struct, frozen=True, kw_only=True):
    transfer_id: str
    idempotency_key: str
    amount_fen: int
    payee_account: str
    reference: str
    status: str
    booked_at: str


class DebitRequest(msgspec.Struct, frozen=True, kw_only=True):
    idempotency_key: str
    amount_fen: int
    payer_account: str
    reference: str


class Debit(msgspec.Struct, frozen=True, kw_only=True):
    debit_id: str
    idempotency_key: str
    requested_fen: int
    collected_fen: int
    payer_account: str
    booked_at: str


class Deposit(msgspec.Struct, frozen=True, kw_only=True):
    amount_fen: int


class Fault(msgspec.Struct, frozen=True, kw_only=True):
    mode: FaultMode
    times: int = 1
    stall_seconds: float = 30.0


class Stats(msgspec.Struct, frozen=True, kw_only=True):
    transfers: int
    transfer_requests: int
    debits: int
    balances: dict[str, int]


class CoreBank:
    """In-memory books of the simulator; one lock serialises bookings like a real core."""

    def __init__(self) -> None:
        self.transfers: dict[str, Transfer] = {}
        self.debits: dict[str, Debit] = {}
        self.balances: dict[str, int] = {}
        self.transfer_requests = 0
        self.fault = Fault(mode="none", times=0)
        self.lock = asyncio.Lock()

    def _take_fault(self) -> Fault | None:
        if self.fault.mode == "none" or self.fault.times <= 0:
            return None
        current = self.fault
        self.fault = Fault(
            mode=current.mode, times=current.times - 1, stall_seconds=current.stall_seconds
        )
        return current

    async def transfer(self, data: TransferRequest) -> tuple[Transfer, bool]:
        if data.amount_fen <= 0:
            raise HTTPException(status_code=422, detail="amount must be positive")
        async with self.lock:
            self.transfer_requests += 1
            existing = self.transfers.get(data.idempotency_key)
            if existing is not None:
                if (existing.amount_fen, existing.payee_account) != (
                    data.amount_fen,
                    data.payee_account,
                ):
                    raise HTTPException(
                        status_code=409, detail="idempotency key reused with other terms"
                    )
                return existing, False
            fault = self._take_fault()
            if fault is not None and fault.mode == "fail_before":
                raise HTTPException(status_code=503, detail="core banking unavailable")
            booked = Transfer(
                transfer_id=f"TRF{uuid.uuid4().hex[:20].upper()}",
                idempotency_key=data.idempotency_key,
                amount_fen=data.amount_fen,
                payee_account=data.payee_account,
                reference=data.reference,
                status="completed",
                booked_at=utcnow().isoformat(),
            )
            self.transfers[data.idempotency_key] = booked
            self.balances[data.payee_account] = (
                self.balances.get(data.payee_account, 0) + data.amount_fen
            )
        if fault is not None and fault.mode == "fail_after":
            raise HTTPException(status_code=503, detail="core banking unavailable")
        if fault is not None and fault.mode == "stall_after":
            await asyncio.sleep(fault.stall_seconds)
        return booked, True

    async def debit(self, data: DebitRequest) -> tuple[Debit, bool]:
        if data.amount_fen <= 0:
            raise HTTPException(status_code=422, detail="amount must be positive")
        async with self.lock:
            existing = self.debits.get(data.idempotency_key)
            if existing is not None:
                return existing, False
            balance = self.balances.get(data.payer_account, 0)
            collected = min(balance, data.amount_fen)
            self.balances[data.payer_account] = balance - collected
            booked = Debit(
                debit_id=f"DBT{uuid.uuid4().hex[:20].upper()}",
                idempotency_key=data.idempotency_key,
                requested_fen=data.amount_fen,
                collected_fen=collected,
                payer_account=data.payer_account,
                booked_at=utcnow().isoformat(),
            )
            self.debits[data.idempotency_key] = booked
            return booked, True


def create_corebank_app(bank: CoreBank | None = None) -> Litestar:
    """The simulator as an ASGI app; pass ``bank`` to inspect its books in-process."""
    books = bank or CoreBank()

    @post("/transfers", status_code=201)
    async def create_transfer(data: JSONBody[TransferRequest]) -> Transfer:
        transfer, _ = await books.transfer(data)
        return transfer

    @get("/transfers/{key:str}")
    async def get_transfer(key: FromPath[str]) -> Transfer:
        found = books.transfers.get(key)
        if found is None:
            raise HTTPException(status_code=404, detail="no transfer with this key")
        return found

    @post("/auto-debits", status_code=201)
    async def create_debit(data: JSONBody[DebitRequest]) -> Debit:
        debit, _ = await books.debit(data)
        return debit

    @post("/accounts/{account:str}/deposits", status_code=201)
    async def deposit(account: FromPath[str], data: JSONBody[Deposit]) -> dict[str, int]:
        if data.amount_fen <= 0:
            raise HTTPException(status_code=422, detail="amount must be positive")
        async with books.lock:
            books.balances[account] = books.balances.get(account, 0) + data.amount_fen
            return {"balance_fen": books.balances[account]}

    @post("/faults", status_code=200)
    async def inject(data: JSONBody[Fault]) -> Fault:
        books.fault = data
        return data

    @get("/stats")
    async def stats() -> Stats:
        return Stats(
            transfers=len(books.transfers),
            transfer_requests=books.transfer_requests,
            debits=len(books.debits),
            balances=dict(books.balances),
        )

    return Litestar(
        route_handlers=[create_transfer, get_transfer, create_debit, deposit, inject, stats],
        debug=False,
        openapi_config=None,
    )
