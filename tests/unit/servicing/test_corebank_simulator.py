"""The core-bank simulator: the same idempotency key is the same transfer; faults are real."""

from __future__ import annotations

from litestar.testing import TestClient

from puhui.servicing.corebank_simulator import CoreBank, create_corebank_app

TRANSFER = {"idempotency_key": "k-1", "amount_fen": 5000, "payee_account": "6222", "reference": "r"}


def test_repeating_a_transfer_returns_the_original_and_books_nothing_new() -> None:
    bank = CoreBank()
    with TestClient(create_corebank_app(bank)) as client:
        first = client.post("/transfers", json=TRANSFER)
        second = client.post("/transfers", json=TRANSFER)
        other_terms = client.post("/transfers", json={**TRANSFER, "amount_fen": 6000})
        found = client.get("/transfers/k-1")
    assert first.status_code == 201
    assert second.json() == first.json() == found.json()
    assert other_terms.status_code == 409
    assert len(bank.transfers) == 1
    assert bank.balances["6222"] == 5000


def test_fail_after_books_the_transfer_but_hides_the_outcome() -> None:
    bank = CoreBank()
    with TestClient(create_corebank_app(bank)) as client:
        client.post("/faults", json={"mode": "fail_after", "times": 1})
        lost = client.post("/transfers", json=TRANSFER)
        assert lost.status_code == 503
        assert client.get("/transfers/k-1").status_code == 200  # reconciliation finds it
        client.post("/faults", json={"mode": "fail_before", "times": 1})
        refused = client.post("/transfers", json={**TRANSFER, "idempotency_key": "k-2"})
        assert refused.status_code == 503
        assert client.get("/transfers/k-2").status_code == 404


def test_auto_debit_collects_what_the_account_holds_once_per_key() -> None:
    bank = CoreBank()
    with TestClient(create_corebank_app(bank)) as client:
        client.post("/accounts/6222/deposits", json={"amount_fen": 700})
        debit = {
            "idempotency_key": "d-1",
            "amount_fen": 1000,
            "payer_account": "6222",
            "reference": "r",
        }
        first = client.post("/auto-debits", json=debit).json()
        again = client.post("/auto-debits", json=debit).json()
    assert first["collected_fen"] == 700
    assert again == first
    assert bank.balances["6222"] == 0
