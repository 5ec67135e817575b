"""Security primitive costs in µs per operation: signatures, nonces, rate limits, AES-GCM, masking.

Budget (ARCHITECTURE.md decision 5, 2-core machines): HMAC verify + nonce ≈ 21 µs, a rate-limit
check ≈ 5 µs in memory. Writes bench/results/security_primitives.json; `--quick` for CI smoke runs.
Redis rows run when PUHUI_TEST_REDIS_URL (or --redis-url) names a Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "platform"))

from puhui.security.classification import ClassificationMap, FieldKind
from puhui.security.digest import content_digest
from puhui.security.fieldcrypto import FieldKeyring, field_aad
from puhui.security.httpsig import HttpRequest, SignatureKey, sign_request, verify_request
from puhui.security.masking import mask_document
from puhui.security.nonces import MemoryNonceStore, nonce_key
from puhui.security.ratelimit import MemoryRateLimiter, RatePlan, RedisRateLimiter

RESULTS = Path(__file__).resolve().parent / "results" / "security_primitives.json"
TARGETS_US = {"hmac_verify_plus_nonce": 21.0, "ratelimit_check_memory": 5.0}
BODY = b'{"amount_fen": 50000000, "term_months": 12, "purpose": "working capital"}'
PLAN = RatePlan("standard", burst=1_000_000, per_second=1_000_000.0, daily_quota=10**9)


def _summary(samples_ns: Sequence[int]) -> dict[str, float]:
    ordered = sorted(samples_ns)
    return {
        "samples": len(ordered),
        "min_us": round(ordered[0] / 1000, 2),
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


def _request() -> HttpRequest:
    return HttpRequest(
        "POST",
        "https://api.puhui-bank.example/v1/loan-applications?channel=partner",
        {
            "Content-Type": "application/json",
            "Content-Digest": content_digest(BODY),
            "Authorization": "DPoP eyJhbGciOiJFUzI1NiJ9.e30.sig",
            "X-Request-Id": "req-1",
        },
    )


def _signed_requests(key: SignatureKey, n: int) -> list[HttpRequest]:
    base = _request()
    signed = []
    for _ in range(n):
        headers = sign_request(base, key)
        signed.append(
            HttpRequest(
                base.method,
                base.url,
                {
                    **base.headers,
                    "Signature-Input": headers.signature_input,
                    "Signature": headers.signature,
                },
            )
        )
    return signed


def _typical_response() -> tuple[dict[str, Any], ClassificationMap]:
    document = {
        "application_id": "LA-20260314-000123",
        "status": "approved",
        "applicant": {
            "name": "张三丰",
            "id_number": "110101199001011234",
            "phone": "13812345678",
            "email": "zhang@example.com",
            "address": "北京市海淀区中关村大街1号院2号楼",
        },
        "enterprise": {"name": "北京普惠科技有限公司", "uscc": "91110108MA01ABCD2X"},
        "repayment_account": {"number": "6222021234561234", "bank": "Puhui Bank"},
        "offer": {"limit_fen": 50_000_000, "rate_bp": 385, "term_months": 12},
        "schedule": [
            {"period": i, "principal_fen": 4_166_667, "interest_fen": 16_042} for i in range(12)
        ],
    }
    classification = ClassificationMap(
        paths={
            "applicant.name": FieldKind.NAME,
            "applicant.id_number": FieldKind.ID_NUMBER,
            "applicant.phone": FieldKind.PHONE,
            "applicant.email": FieldKind.EMAIL,
            "applicant.address": FieldKind.ADDRESS,
            "enterprise.uscc": FieldKind.USCC,
            "repayment_account.number": FieldKind.BANK_ACCOUNT,
        }
    )
    return document, classification


def run(n: int, redis_url: str | None) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    hmac_key = SignatureKey("hmac-sha256", secrets.token_bytes(32), "client-hmac")
    ec_private = ec.generate_private_key(ec.SECP256R1())
    ed_private = ed25519.Ed25519PrivateKey.generate()
    ec_key = SignatureKey("ecdsa-p256-sha256", ec_private, "c-ec")
    ed_key = SignatureKey("ed25519", ed_private, "c-ed")
    public = {
        "client-hmac": hmac_key,
        "c-ec": SignatureKey(ec_key.alg, ec_private.public_key(), "c-ec"),
        "c-ed": SignatureKey(ed_key.alg, ed_private.public_key(), "c-ed"),
    }
    resolve = public.get
    request = _request()

    def hmac_sign_verify(_: int) -> None:
        headers = sign_request(request, hmac_key)
        signed = HttpRequest(
            request.method,
            request.url,
            {
                **request.headers,
                "Signature-Input": headers.signature_input,
                "Signature": headers.signature,
            },
        )
        verify_request(signed, resolve_key=resolve)

    results["hmac_sign_plus_verify"] = _summary(_time(hmac_sign_verify, n))

    nonces = MemoryNonceStore()
    hmac_signed = _signed_requests(hmac_key, n)

    async def verify_and_spend(i: int) -> None:
        verified = verify_request(hmac_signed[i], resolve_key=resolve)
        assert verified.nonce is not None
        if not await nonces.remember(nonce_key(verified.keyid, verified.nonce), 600):
            raise RuntimeError("unexpected replay")

    results["hmac_verify_plus_nonce"] = _summary(asyncio.run(_time_async(verify_and_spend, n)))

    slow_n = max(50, n // 5)
    for name, key in (("es256_verify", ec_key), ("ed25519_verify", ed_key)):
        signed = _signed_requests(key, slow_n)

        def verify_one(i: int, batch: list[HttpRequest] = signed) -> None:
            verify_request(batch[i], resolve_key=resolve)

        results[name] = _summary(_time(verify_one, slow_n))

    store = MemoryNonceStore()
    keys = [secrets.token_urlsafe(16) for _ in range(n)]
    results["nonce_check_memory"] = _summary(_time(lambda i: store.remember_now(keys[i], 600), n))

    limiter = MemoryRateLimiter()
    results["ratelimit_check_memory"] = _summary(
        _time(lambda i: limiter.check_now(f"tenant-{i % 50}:client:loans", PLAN), n)
    )

    if redis_url:
        from redis.asyncio import Redis

        async def redis_rows() -> list[int]:
            client = Redis.from_url(redis_url)
            try:
                redis_limiter = RedisRateLimiter(client, prefix=f"bench:rl:{secrets.token_hex(4)}:")
                await redis_limiter.check("warmup", PLAN)
                return await _time_async(
                    lambda i: redis_limiter.check(f"tenant-{i % 50}:client:loans", PLAN), n
                )
            finally:
                await client.aclose()

        results["ratelimit_check_redis"] = _summary(asyncio.run(redis_rows()))

    ring = FieldKeyring({1: secrets.token_bytes(32)}, 1, secrets.token_bytes(32))
    aad = field_aad("customers", "id_number", 42)
    tokens = [ring.encrypt("110101199001011234", aad) for _ in range(n)]
    results["aes_gcm_encrypt"] = _summary(
        _time(lambda _: ring.encrypt("110101199001011234", aad), n)
    )
    results["aes_gcm_decrypt"] = _summary(_time(lambda i: ring.decrypt(tokens[i], aad), n))

    document, classification = _typical_response()
    results["mask_typical_response"] = _summary(
        _time(lambda _: mask_document(document, classification), n)
    )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sample for CI smoke runs")
    parser.add_argument("-n", type=int, default=None, help="operations per row")
    parser.add_argument("--redis-url", default=os.environ.get("PUHUI_TEST_REDIS_URL"))
    args = parser.parse_args()
    n = args.n or (300 if args.quick else 5000)
    results = run(n, args.redis_url)

    print(
        f"{'operation':<28}{'min µs':>10}{'mean µs':>10}{'p50 µs':>10}{'p99 µs':>10}{'target':>10}"
    )
    for name, row in results.items():
        target = TARGETS_US.get(name)
        print(
            f"{name:<28}{row['min_us']:>10}{row['mean_us']:>10}{row['p50_us']:>10}{row['p99_us']:>10}"
            f"{'' if target is None else target:>10}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "security_primitives",
        "quick": args.quick,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "targets_us": TARGETS_US,
        "results": results,
    }
    RESULTS.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
