"""OAuth primitive costs, µs per op: access token issue, verify (cold, cached), DPoP, client auth.

Budget (ARCHITECTURE.md decision 5): a JWT verify costs 85-145 µs on these machines, which is
why verified tokens are cached until `exp`; a cache hit should cost a few µs.
Writes bench/results/oauth_primitives.json; `--quick` (a smaller sample, CI smoke) only prints.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "platform"))

from puhui.clock import utcnow
from puhui.oauth.client_assertion import ClientAssertionVerifier, ClientKeys
from puhui.oauth.dpop import DPoPVerifier, access_token_hash
from puhui.oauth.jwt_tokens import AccessTokenIssuer, AccessTokenVerifier, VerifiedTokenCache
from puhui.oauth.keys import load_or_create
from puhui.oauth.stores import MemoryReplayCache

RESULTS = Path(__file__).resolve().parent / "results" / "oauth_primitives.json"
ISSUER = "https://open.puhui-bank.example"
RESOURCE = "https://api.puhui-bank.example"
RESOURCE_URL = f"{RESOURCE}/v1/loans"
CLIENT_ID = "client-bench"
TARGETS_US = {"verify_access_token_cold": 145.0, "verify_access_token_cached": 10.0}


def _summary(samples_ns: Sequence[int]) -> dict[str, float]:
    ordered = sorted(samples_ns)
    return {
        "samples": len(ordered),
        "mean_us": round(statistics.fmean(ordered) / 1000, 2),
        "p50_us": round(ordered[len(ordered) // 2] / 1000, 2),
        "p99_us": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1000, 2),
    }


def _time(operation: Callable[[int], object], n: int) -> list[int]:
    samples = []
    for i in range(n):
        start = time.perf_counter_ns()
        operation(i)
        samples.append(time.perf_counter_ns() - start)
    return samples


async def _time_async(operation: Callable[[int], Awaitable[object]], n: int) -> list[int]:
    samples = []
    for i in range(n):
        start = time.perf_counter_ns()
        await operation(i)
        samples.append(time.perf_counter_ns() - start)
    return samples


def _dpop_proofs(key: ec.EllipticCurvePrivateKey, token: str, n: int) -> list[str]:
    jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    now = int(utcnow().timestamp())
    ath = access_token_hash(token)
    return [
        jwt.encode(
            {
                "jti": secrets.token_urlsafe(16),
                "htm": "GET",
                "htu": RESOURCE_URL,
                "iat": now,
                "ath": ath,
            },
            key,
            algorithm="ES256",
            headers={"typ": "dpop+jwt", "jwk": jwk},
        )
        for _ in range(n)
    ]


def _client_assertions(key: ec.EllipticCurvePrivateKey, n: int) -> list[str]:
    now = int(utcnow().timestamp())
    claims: dict[str, Any] = {"iss": CLIENT_ID, "sub": CLIENT_ID, "aud": ISSUER, "iat": now}
    return [
        jwt.encode(
            {**claims, "exp": now + 60, "jti": secrets.token_urlsafe(16)},
            key,
            algorithm="ES256",
            headers={"kid": "k1"},
        )
        for _ in range(n)
    ]


def run(n: int) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory() as directory:
        keyset = load_or_create(Path(directory))
    issuer = AccessTokenIssuer(keyset, issuer=ISSUER)

    def issue(_: int) -> str:
        return issuer.issue(
            subject="customer-1",
            client_id=CLIENT_ID,
            audience=RESOURCE,
            scope=("offers:read", "loans:read"),
            tenant_id="tenant-1",
            consent_id="consent-1",
            jkt="0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
        ).token

    results: dict[str, dict[str, float]] = {}
    results["issue_access_token_es256"] = _summary(_time(issue, n))

    tokens = [issue(i) for i in range(n)]
    cold = AccessTokenVerifier(keyset, issuer=ISSUER, audience=RESOURCE)
    results["verify_access_token_cold"] = _summary(_time(lambda i: cold.verify(tokens[i]), n))

    cached = AccessTokenVerifier(
        keyset, issuer=ISSUER, audience=RESOURCE, cache=VerifiedTokenCache()
    )
    for token in tokens:
        cached.verify(token)
    results["verify_access_token_cached"] = _summary(_time(lambda i: cached.verify(tokens[i]), n))

    client_key = ec.generate_private_key(ec.SECP256R1())
    proofs = _dpop_proofs(client_key, tokens[0], n)
    dpop = DPoPVerifier(MemoryReplayCache(max_entries=n + 10))

    async def verify_proof(i: int) -> object:
        return await dpop.verify(proofs[i], method="GET", uri=RESOURCE_URL, access_token=tokens[0])

    results["verify_dpop_proof"] = _summary(asyncio.run(_time_async(verify_proof, n)))

    jwks = {"keys": [{**ECAlgorithm.to_jwk(client_key.public_key(), as_dict=True), "kid": "k1"}]}
    client = ClientKeys(client_id=CLIENT_ID, jwks=jwks)
    assertions = _client_assertions(client_key, n)
    client_auth = ClientAssertionVerifier(
        issuer=ISSUER, replay_cache=MemoryReplayCache(max_entries=n + 10)
    )

    async def verify_assertion(i: int) -> object:
        return await client_auth.verify(assertions[i], client)

    results["verify_private_key_jwt"] = _summary(asyncio.run(_time_async(verify_assertion, n)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sample for CI smoke checks")
    parser.add_argument("-n", type=int, default=None, help="operations per measure")
    args = parser.parse_args()
    n = args.n or (300 if args.quick else 5000)
    operations = run(n)
    results = {
        "benchmark": "oauth_primitives",
        "quick": args.quick,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "operations": operations,
        "targets_us": TARGETS_US,
    }
    if not args.quick:  # a smoke check never overwrites the recorded results
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")

    print(f"{'operation (µs per op)':<34}{'mean':>10}{'p50':>10}{'p99':>10}{'target':>10}")
    for name, summary in operations.items():
        target = TARGETS_US.get(name)
        print(
            f"{name:<34}{summary['mean_us']:>10}{summary['p50_us']:>10}{summary['p99_us']:>10}"
            f"{f'<= {target:g}' if target else '':>10}"
        )
    if not args.quick:
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
