"""Gateway pipeline cost: (a) bare endpoint, (b) full A1 pipeline, (c) full A2 pipeline.

One run, one server (uvicorn, 2 workers, loopback), identical settings for all three; the load
comes from this separate process over raw HTTP/1.1 keep-alive connections with every request
pre-built (tokens, DPoP proofs, RFC 9421 signatures), so the client's own signing is not timed.
(b) = bearer JWT (verified-token cache), HMAC-SHA256 signature, nonce, rate limit + quota,
      group-committed audit record before the response.
(c) = DPoP-bound token with a fresh proof per call, ES256 request signature, the same, plus
      an ES256 response signature.
Targets: (b) >= 60 % and (c) >= 30 % of (a)'s throughput.

    .venv/bin/python bench/gateway.py [--quick] [--requests N] [--concurrency C] [--redis-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import platform as host
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT)]

import jwt  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from jwt.algorithms import ECAlgorithm  # noqa: E402

from puhui.config import Settings, load_settings  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "gateway.json"


# ------------------------------------------------------------------ set-up (seed the database)
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _environment(tmp: Path, port: int, redis_url: str | None) -> dict[str, str]:
    env = {
        "PUHUI_DATABASE_URL": f"sqlite+aiosqlite:///{tmp / 'bench.db'}",
        "PUHUI_KEY_DIR": str(tmp / "keys"),
        "PUHUI_VAR_DIR": str(tmp),
        "PUHUI_ISSUER": f"http://127.0.0.1:{port}",
        "PUHUI_LOG_LEVEL": "WARNING",
        "PUHUI_ENVIRONMENT": "test",
    }
    if redis_url:
        env["PUHUI_REDIS_URL"] = redis_url
    return env


@dataclass(frozen=True)
class Seeded:
    """What the load generator needs to sign like the partner: its keys and tokens."""

    secret: str
    sig_key: ec.EllipticCurvePrivateKey
    dpop_key: ec.EllipticCurvePrivateKey
    dpop_jwk: dict[str, Any]
    bearer: str
    bound: str


async def _seed(settings: Settings) -> Seeded:
    from puhui.db.engine import create_engine
    from puhui.db.session import SessionFactory
    from puhui.gateway.client_profiles import signing_secret_aad
    from puhui.oauth.keys import jwk_thumbprint
    from puhui.oauth.models import (
        ClientAuthMethod,
        ClientEnvironment,
        ClientStatus,
        OAuthClient,
    )
    from puhui.oauth.runtime import OAuthRuntime, resource_audience
    from puhui.security.keyring import data_keyring, install_keyring, keyring
    from puhui.tenancy.models import Tenant, TenantKind, TenantStatus

    install_keyring(data_keyring(settings))
    engine = create_engine(settings)
    secret = secrets.token_urlsafe(32)
    sig_key = ec.generate_private_key(ec.SECP256R1())
    dpop_key = ec.generate_private_key(ec.SECP256R1())
    sig_jwk = {**ECAlgorithm.to_jwk(sig_key.public_key(), as_dict=True), "kid": "bench-ec"}
    dpop_jwk = ECAlgorithm.to_jwk(dpop_key.public_key(), as_dict=True)
    try:
        async with SessionFactory(engine).unit_of_work() as session:
            tenant = Tenant(
                code="bench",
                name="Bench partner",
                kind=TenantKind.SCENARIO_PROVIDER,
                status=TenantStatus.ACTIVE,
                plan="bench",
                is_sandbox=True,
            )
            session.add(tenant)
        async with SessionFactory(engine).unit_of_work(tenant.id) as session:
            row_id = uuid.uuid4()
            client = OAuthClient(
                id=row_id,
                tenant_id=tenant.id,
                client_id="bench-client",
                name="Bench client",
                environment=ClientEnvironment.SANDBOX,
                status=ClientStatus.ACTIVE,
                auth_method=ClientAuthMethod.PRIVATE_KEY_JWT,
                redirect_uris=[],
                grant_types=["client_credentials"],
                scopes=[],
                jwks={"keys": [{**sig_jwk, "alg": "ES256", "use": "sig"}]},
                signing_secret_enc=keyring().encrypt(secret, signing_secret_aad(row_id)),
                ip_allowlist=["127.0.0.0/8", "::1/128"],
                rate_plan="bench",
                require_dpop=False,
            )
            session.add(client)
    finally:
        await engine.dispose()
    runtime = OAuthRuntime.build(settings, None)
    audience = resource_audience(settings.issuer)
    common = {
        "subject": "bench-client",
        "client_id": "bench-client",
        "audience": audience,
        "scope": [],
        "tenant_id": str(tenant.id),
    }
    bearer = runtime.tokens.issue(**common).token  # type: ignore[arg-type]
    bound = runtime.tokens.issue(**common, jkt=jwk_thumbprint(dpop_jwk)).token  # type: ignore[arg-type]
    return Seeded(
        secret=secret,
        sig_key=sig_key,
        dpop_key=dpop_key,
        dpop_jwk=dpop_jwk,
        bearer=bearer,
        bound=bound,
    )


# ------------------------------------------------------------------ pre-built requests
def _raw(method: str, path: str, port: int, headers: dict[str, str], body: bytes = b"") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def bare_requests(n: int, port: int, _: Seeded) -> list[bytes]:
    one = _raw("GET", "/bench/bare", port, {})
    return [one] * n


def a1_requests(n: int, port: int, seed: Seeded) -> list[bytes]:
    from puhui.security.httpsig import HttpRequest, SignatureKey, sign_request

    key = SignatureKey("hmac-sha256", seed.secret.encode(), keyid="bench-client")
    url = f"http://127.0.0.1:{port}/api/v1/bench/a1"
    out = []
    for _ in range(n):
        headers = {"Authorization": f"Bearer {seed.bearer}"}
        signed = sign_request(
            HttpRequest("GET", url, headers), key, components=["@method", "@target-uri"]
        )
        headers["Signature-Input"] = signed.signature_input
        headers["Signature"] = signed.signature
        out.append(_raw("GET", "/api/v1/bench/a1", port, headers))
    return out


def a2_requests(n: int, port: int, seed: Seeded) -> list[bytes]:
    from puhui.security.digest import content_digest
    from puhui.security.httpsig import HttpRequest, SignatureKey, sign_request

    key = SignatureKey("ecdsa-p256-sha256", seed.sig_key, keyid="bench-ec")
    url = f"http://127.0.0.1:{port}/api/v1/bench/a2"
    ath = base64.urlsafe_b64encode(hashlib.sha256(seed.bound.encode()).digest()).rstrip(b"=")
    body = json.dumps({"amount_fen": 10_000_000, "term_months": 12}).encode()
    out = []
    for _ in range(n):
        proof = jwt.encode(
            {
                "jti": secrets.token_urlsafe(16),
                "htm": "POST",
                "htu": url,
                "iat": int(time.time()),
                "ath": ath.decode(),
            },
            seed.dpop_key,
            algorithm="ES256",
            headers={"typ": "dpop+jwt", "jwk": seed.dpop_jwk},
        )
        headers = {
            "Authorization": f"DPoP {seed.bound}",
            "DPoP": proof,
            "Content-Type": "application/json",
            "Content-Digest": content_digest(body),
        }
        signed = sign_request(
            HttpRequest("POST", url, headers),
            key,
            components=["@method", "@target-uri", "content-digest"],
        )
        headers["Signature-Input"] = signed.signature_input
        headers["Signature"] = signed.signature
        out.append(_raw("POST", "/api/v1/bench/a2", port, headers, body))
    return out


# ------------------------------------------------------------------ the load
async def _connection(
    port: int, queue: list[bytes], latencies: list[float], statuses: dict[int, int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while queue:
            request = queue.pop()
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        writer.close()


async def _drive(port: int, requests: list[bytes], concurrency: int) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    queue = list(reversed(requests))
    started = time.perf_counter()
    await asyncio.gather(
        *(_connection(port, queue, latencies, statuses) for _ in range(concurrency))
    )
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def _wait_until_up(port: int, deadline: float) -> None:
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
                s.sendall(f"GET /bench/bare HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
                if s.recv(12).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("the bench server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small run (CI smoke)")
    parser.add_argument("--requests", type=int, default=None, help="timed requests per scenario")
    parser.add_argument("--concurrency", type=int, default=32, help="keep-alive connections")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--redis-url", default=None, help="shared nonces/limits (scale mode)")
    args = parser.parse_args()
    n = args.requests or (1_500 if args.quick else 12_000)
    warmup = max(200, n // 10)
    port = _free_port()

    with tempfile.TemporaryDirectory(prefix="puhui-bench-") as tmp_name:
        tmp = Path(tmp_name)
        env = _environment(tmp, port, args.redis_url)
        settings = load_settings(env)
        from puhui.db.migrate import upgrade

        upgrade(settings)
        seed = asyncio.run(_seed(settings))
        server = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "--factory", "gateway_app:create_bench_app",
                "--app-dir", str(ROOT / "bench"), "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(args.workers), "--log-level", "warning", "--no-access-log",
            ],
            env={**os.environ, **env, "PYTHONPATH": f"{ROOT / 'platform'}:{ROOT}"},
        )  # fmt: skip
        try:
            _wait_until_up(port, time.time() + 60)
            scenarios: list[tuple[str, Callable[[int, int, Seeded], list[bytes]]]] = [
                ("a_bare", bare_requests),
                ("b_a1_pipeline", a1_requests),
                ("c_a2_pipeline", a2_requests),
            ]
            results: dict[str, Any] = {}
            for name, build in scenarios:
                asyncio.run(_drive(port, build(warmup, port, seed), args.concurrency))
                results[name] = asyncio.run(_drive(port, build(n, port, seed), args.concurrency))
        finally:
            server.terminate()
            server.wait(timeout=30)

    base = results["a_bare"]["rps"]
    results["b_a1_pipeline"]["ratio_to_a"] = round(results["b_a1_pipeline"]["rps"] / base, 3)
    results["c_a2_pipeline"]["ratio_to_a"] = round(results["c_a2_pipeline"]["rps"] / base, 3)
    report = {
        "benchmark": "gateway",
        "quick": args.quick,
        "requests": n,
        "concurrency": args.concurrency,
        "workers": args.workers,
        "state": "redis" if args.redis_url else "memory",
        "python": sys.version.split()[0],
        "machine": f"{host.machine()} x{os.cpu_count()}",
        "targets": {"b_ratio": 0.60, "c_ratio": 0.30},
        "results": results,
    }
    print(f"{'scenario':<16}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'x (a)':>8}  statuses")
    for name, r in results.items():
        ratio = r.get("ratio_to_a", 1.0)
        print(
            f"{name:<16}{r['rps']:>10.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{ratio:>8.2f}"
            f"  {r['statuses']}"
        )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    suffix = "-quick" if args.quick else ""
    path = RESULTS.with_name(f"gateway{suffix}.json")
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
