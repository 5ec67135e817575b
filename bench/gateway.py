"""Gateway pipeline cost: (a) bare endpoint, (b) full A1 pipeline, (c) full A2 pipeline.

One run, one server (uvicorn, 2 workers, loopback), identical settings for all scenarios; the
load comes from this separate process over raw HTTP/1.1 keep-alive connections with every request
pre-built (tokens, DPoP proofs, RFC 9421 signatures), so the client's own signing is not timed.
The scenarios take turns in rounds (default 4), so drift in the machine's speed hits them alike.
(a), (b) and (c) are the same endpoint (a GET answering the same JSON), declared differently:
(a) = no catalogue entry: the gateway's request id and headers only.
(b) = A1: bearer JWT (verified-token cache), HMAC-SHA256 signature, nonce, rate limit + quota,
      group-committed audit record before the response.
(c) = A2: DPoP-bound token with a fresh proof per call, ES256 request signature, the same, plus
      an ES256 response signature.
(d) = reported, not a target: an A2 POST with a JSON body, so Content-Digest is checked and
      covered, and the handler parses the body (its cost is the endpoint's, not the pipeline's).
Targets: (b) >= 60 % and (c) >= 30 % of (a)'s throughput.
Besides req/s, each scenario reports the CPU time per request of the server processes plus this
load generator ("total_cpu_us", from /proc): with all cores busy, throughput follows it, so
cpu(a) / cpu(x) ("cpu_ratio_to_a") predicts the throughput ratio even on a shared machine.

`--cpu` measures instead, in this one process and without a server, the CPU time per request
(`time.process_time()`, audit writer thread included) of the same three scenarios driven straight
into the ASGI app, and the CPU time of each pipeline stage. CPU time does not depend on what else
the machine runs, so these figures are comparable between runs on a shared machine; they leave
out the HTTP server's own cost per request, which (a), (b) and (c) pay alike.

    .venv/bin/python bench/gateway.py [--quick] [--requests N] [--concurrency C] [--redis-url URL]
    .venv/bin/python bench/gateway.py --cpu [--quick] [--requests N] [--concurrency C]
    .venv/bin/python bench/gateway.py --skip-audit-commit   # ablation: what the audit commit costs
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
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
TARGETS = {"b_a1_pipeline": 0.60, "c_a2_pipeline": 0.30}


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
        "PUHUI_JOBS_ENABLED": "false",  # no scheduled jobs competing with the measured calls
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


def _a2_requests(
    n: int, port: int, seed: Seeded, method: str, path: str, body: bytes
) -> list[bytes]:
    from puhui.security.digest import content_digest
    from puhui.security.httpsig import HttpRequest, SignatureKey, sign_request

    key = SignatureKey("ecdsa-p256-sha256", seed.sig_key, keyid="bench-ec")
    url = f"http://127.0.0.1:{port}{path}"
    ath = base64.urlsafe_b64encode(hashlib.sha256(seed.bound.encode()).digest()).rstrip(b"=")
    components = ["@method", "@target-uri"] + (["content-digest"] if body else [])
    out = []
    for _ in range(n):
        proof = jwt.encode(
            {
                "jti": secrets.token_urlsafe(16),
                "htm": method,
                "htu": url,
                "iat": int(time.time()),
                "ath": ath.decode(),
            },
            seed.dpop_key,
            algorithm="ES256",
            headers={"typ": "dpop+jwt", "jwk": seed.dpop_jwk},
        )
        headers = {"Authorization": f"DPoP {seed.bound}", "DPoP": proof}
        if body:
            headers["Content-Type"] = "application/json"
            headers["Content-Digest"] = content_digest(body)
        signed = sign_request(HttpRequest(method, url, headers), key, components=components)
        headers["Signature-Input"] = signed.signature_input
        headers["Signature"] = signed.signature
        out.append(_raw(method, path, port, headers, body))
    return out


def a2_requests(n: int, port: int, seed: Seeded) -> list[bytes]:
    """(c) the endpoint of (a) and (b), declared A2: DPoP, ES256 request and response signatures."""
    return _a2_requests(n, port, seed, "GET", "/api/v1/bench/a2", b"")


def a2_body_requests(n: int, port: int, seed: Seeded) -> list[bytes]:
    """(d) an A2 POST with a JSON body (Content-Digest covered by the signature); reported only."""
    body = json.dumps({"amount_fen": 10_000_000, "term_months": 12}).encode()
    return _a2_requests(n, port, seed, "POST", "/api/v1/bench/a2-body", body)


# ------------------------------------------------------------------ the cryptographic floor
def _cpu_us(operation: Callable[[], object], samples: int) -> float:
    """CPU µs per call of `operation`: the best of three rounds (least disturbed)."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for _ in range(samples):
            operation()
        best = min(best, (time.process_time() - started) / samples * 1e6)
    return best


def crypto_floor(seed: Seeded, port: int, samples: int = 1_000) -> dict[str, dict[str, float]]:
    """CPU µs per call of the cryptography each scenario cannot skip, on this machine.

    Measured with the scenarios' own keys and message sizes through `cryptography` (OpenSSL):
    what a pipeline whose every other step (parsing, token and nonce checks, limits, audit
    commit, headers) cost nothing would still spend. (b): the HMAC-SHA256 request signature and
    the audit record's SHA-256 chain link; (c): the ES256 DPoP proof and request signature
    verifications, the ES256 response signature, the proof's `ath` and the response's
    Content-Digest (SHA-256) and the chain link.
    """
    import hmac

    from cryptography.hazmat.primitives import hashes

    from puhui.security.auditchain import link_hash

    ecdsa = ec.ECDSA(hashes.SHA256())
    base = (
        b'"@method": GET\n"@target-uri": http://127.0.0.1:%d/api/v1/bench/a1\n'
        b'"@signature-params": ("@method" "@target-uri");created=1764300000;'
        b'nonce="%s";keyid="bench-client"' % (port, secrets.token_urlsafe(16).encode())
    )
    secret = seed.secret.encode()
    mac = hmac.digest(secret, base, "sha256")
    record = {
        "id": str(uuid.uuid4()), "occurred_at": "2026-11-28T12:00:00.000000+00:00",
        "action": "api.BenchAccountInformation", "outcome": "success",
        "actor_tenant_id": str(uuid.uuid4()), "actor_member_id": None,
        "actor_client_id": "bench-client", "target_tenant_id": str(uuid.uuid4()),
        "target": None, "api_id": "OP000000021295300", "api_level": "A2",
        "consent_id": None, "status_code": 200, "latency_us": 900,
        "request_id": secrets.token_hex(16), "client_ip": "127.0.0.1", "reason": None,
        "details": {"method": "GET"}, "day": "2026-11-28", "seq": 1,
    }  # fmt: skip
    raw = a2_requests(1, port, seed)[0]  # a real proof: its signing input is header.payload
    proof = raw.split(b"\r\nDPoP: ", 1)[1].split(b"\r\n", 1)[0]
    dpop_input = proof.rsplit(b".", 1)[0]
    dpop_sig = seed.dpop_key.sign(dpop_input, ecdsa)
    request_sig = seed.sig_key.sign(base, ecdsa)
    response_base = (
        b'"@status": 200\n"content-digest": sha-256=:%s=:\n"content-type": application/json\n'
        b'"signature";req;key="sig1": :%s:\n"@signature-params": ("@status" "content-digest" '
        b'"content-type" "signature";req;key="sig1");created=1764300000;keyid="bank"'
        % (b"A" * 43, b"B" * 86)
    )
    bank = ec.generate_private_key(ec.SECP256R1())
    dpop_public, sig_public = seed.dpop_key.public_key(), seed.sig_key.public_key()
    token = seed.bound.encode()
    body = b'{"product":"scenario-loan","rate":"0.0365"}'
    steps = {
        "hmac_verify": lambda: hmac.compare_digest(hmac.digest(secret, base, "sha256"), mac),
        "audit_link": lambda: link_hash("0" * 64, record),
        "dpop_verify": lambda: dpop_public.verify(dpop_sig, dpop_input, ecdsa),
        "request_verify": lambda: sig_public.verify(request_sig, base, ecdsa),
        "response_sign": lambda: bank.sign(response_base, ecdsa),
        "sha256_ath_and_digest": lambda: (hashlib.sha256(token), hashlib.sha256(body)),
    }
    cost = {name: round(_cpu_us(step, samples), 1) for name, step in steps.items()}
    a1 = ("hmac_verify", "audit_link")
    a2 = ("dpop_verify", "request_verify", "response_sign", "sha256_ath_and_digest", "audit_link")
    return {
        "b_a1_pipeline": {k: cost[k] for k in a1} | {"total": round(sum(cost[k] for k in a1), 1)},
        "c_a2_pipeline": {k: cost[k] for k in a2} | {"total": round(sum(cost[k] for k in a2), 1)},
    }


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
        "latencies": latencies,
        "requests": len(latencies),
        "seconds": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
    }


def _combined(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One scenario's rounds as one figure: all its requests over all its seconds."""
    latencies = sorted(x for r in rounds for x in r["latencies"])
    requests = len(latencies)
    seconds = sum(r["seconds"] for r in rounds)
    statuses: dict[str, int] = {}
    for r in rounds:
        for status, count in r["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    server_cpu = sum(r["server_cpu"] for r in rounds)
    load_cpu = sum(r["load_cpu"] for r in rounds)
    return {
        "requests": requests,
        "rounds": len(rounds),
        "seconds": round(seconds, 3),
        "rps": round(requests / seconds, 1),
        "rps_by_round": [r["rps"] for r in rounds],
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(requests * 0.99) - 1] * 1000, 2),
        "statuses": dict(sorted(statuses.items())),
        "server_cpu_us": round(server_cpu / requests * 1e6, 1),
        "total_cpu_us": round((server_cpu + load_cpu) / requests * 1e6, 1),
    }


def _server_cpu(master: int) -> float:
    """CPU seconds (user + system) used so far by the server: its master and worker processes.

    On a saturated machine throughput follows CPU per request, so cpu(a) / cpu(x) predicts the
    throughput ratio without being thrown off by other load. Linux /proc only; 0.0 elsewhere.
    """
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total = 0.0
    for entry in Path("/proc").iterdir() if Path("/proc/self/stat").exists() else ():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry.name), int(fields[1])
        if pid == master or ppid == master:
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


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


# ------------------------------------------------------------------ CPU per request (in-process)
# Pipeline stages timed with time.thread_time() around the function that implements each one
# (the thread's own CPU). A probe whose target does not exist is skipped. Async stages are timed
# across their awaits; in memory mode they suspend only for a rare database re-check, and the
# slowest 1 % of calls is left out. The audit writer, which works per batch on its own thread,
# is measured during the timed rounds (WRITER_STAGE), the other stages in one more round.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("3 identity: token + DPoP", "puhui.gateway.pipeline", "authenticate_bearer"),
    ("6-8 client profile", "puhui.gateway.client_profiles", "ClientProfiles.get"),
    ("6 IP rule", "puhui.gateway.pipeline", "check_ip"),
    ("7 signature + nonce", "puhui.gateway.pipeline", "verify_signature"),
    ("8 rate limit + quota", "puhui.gateway.pipeline", "admit"),
    ("9 scope + consent", "puhui.gateway.pipeline", "enforce_consent"),
    ("11 masking", "puhui.gateway.steps.response", "mask_response"),
    ("12 response signature", "puhui.gateway.steps.response", "sign_response"),
    ("13 audit: queue record", "puhui.gateway.steps.response", "audit_call"),
)
WRITER_STAGE: tuple[tuple[str, str, str], ...] = (
    ("13 audit: commit (writer)", "puhui.audit.writer", "AuditWriter._flush_embedded"),
)


class StageMeter:
    """Thread CPU seconds of each call per stage label while installed, less the probe's own
    cost (a thread-CPU clock read is a system call, ~3 µs on a VM: measured once, subtracted)."""

    def __init__(self, stages: tuple[tuple[str, str, str], ...] = STAGES) -> None:
        self.samples: dict[str, list[float]] = {}
        self._stages = stages
        self._undo: list[Callable[[], None]] = []
        self.probe_cost = self._calibrate()

    def _calibrate(self, n: int = 20_000) -> float:
        def nothing() -> None:
            return None

        noop = self._wrap("calibration", nothing, is_async=False)
        best = float("inf")
        for _ in range(3):
            started = time.thread_time()
            for _ in range(n):
                noop()
            best = min(best, (time.thread_time() - started) / n)
        self.samples.clear()
        return best

    def per_request_us(self, requests: int) -> dict[str, float]:
        """Per stage: the mean of its calls without the slowest 1 % (an async stage that did
        suspend was charged for whatever ran meanwhile), less the probe, times calls/request."""
        out = {}
        for label, samples in self.samples.items():
            ordered = sorted(samples)
            kept = ordered[: max(1, len(ordered) * 99 // 100)]
            mean = max(0.0, sum(kept) / len(kept) - self.probe_cost)
            out[label] = round(mean * len(samples) / requests * 1e6, 1)
        return out

    def install(self) -> None:
        import importlib
        import inspect

        for label, module_name, attribute in self._stages:
            owner: Any = importlib.import_module(module_name)
            *path, name = attribute.split(".")
            for part in path:
                owner = getattr(owner, part, None)
            original = getattr(owner, name, None) if owner is not None else None
            if original is None:
                continue
            wrapped = self._wrap(label, original, inspect.iscoroutinefunction(original))
            setattr(owner, name, wrapped)
            self._undo.append(functools.partial(setattr, owner, name, original))

    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()

    def _wrap(self, label: str, original: Any, is_async: bool) -> Any:
        samples = self.samples
        clock = time.thread_time

        if is_async:

            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                started = clock()
                try:
                    return await original(*args, **kwargs)
                finally:
                    samples.setdefault(label, []).append(clock() - started)

            return timed_async

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = clock()
            try:
                return original(*args, **kwargs)
            finally:
                samples.setdefault(label, []).append(clock() - started)

        return timed


def _asgi(raw: bytes) -> tuple[dict[str, Any], bytes]:
    """The ASGI scope and body of one pre-built raw HTTP/1.1 request, as uvicorn would pass."""
    head, _, body = raw.partition(b"\r\n\r\n")
    request_line, *lines = head.split(b"\r\n")
    method, target, _ = request_line.split(b" ")
    headers = []
    for line in lines:
        name, _, value = line.partition(b":")
        headers.append((name.strip().lower(), value.strip()))
    path, _, query = target.partition(b"?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method.decode(),
        "scheme": "http",
        "path": path.decode(),
        "raw_path": path,
        "query_string": query,
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    return scope, body


async def _drive_asgi(
    app: Any, requests: list[tuple[dict[str, Any], bytes]], concurrency: int
) -> dict[int, int]:
    statuses: dict[int, int] = {}
    queue = list(reversed(requests))

    async def call(scope: dict[str, Any], body: bytes) -> None:
        delivered = False

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.Event().wait()  # the client never disconnects
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses[message["status"]] = statuses.get(message["status"], 0) + 1

        await app({**scope, "state": {}}, receive, send)

    async def connection() -> None:
        while queue:
            await call(*queue.pop())

    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return statuses


def cpu_main(args: argparse.Namespace) -> None:
    """CPU microseconds per request for (a), (b), (c) in-process, and per pipeline stage."""
    n = args.requests or (1_000 if args.quick else 5_000)
    rounds = 1 if args.quick else 3
    port = 8000
    with tempfile.TemporaryDirectory(prefix="puhui-bench-") as tmp_name:
        env = _environment(Path(tmp_name), port, args.redis_url)
        os.environ.update(env)
        settings = load_settings(env)
        from puhui.db.migrate import upgrade

        upgrade(settings)
        seed = asyncio.run(_seed(settings))
        sys.path.insert(0, str(ROOT / "bench"))
        from gateway_app import create_bench_app

        app = create_bench_app()
        scenarios: list[tuple[str, Callable[[int, int, Seeded], list[bytes]]]] = [
            ("a_bare", bare_requests),
            ("b_a1_pipeline", a1_requests),
            ("c_a2_pipeline", a2_requests),
            ("d_a2_with_body", a2_body_requests),
        ]

        async def measure() -> dict[str, Any]:
            results: dict[str, Any] = {}
            async with app.lifespan():
                for name, build in scenarios:
                    warm = [_asgi(r) for r in build(max(200, n // 10), port, seed)]
                    await _drive_asgi(app, warm, args.concurrency)
                    # Totals: the least disturbed of a few concurrent rounds (only the writer,
                    # once per batch, is probed).
                    cpu_us = float("inf")
                    statuses: dict[int, int] = {}
                    stages: dict[str, float] = {}
                    for _ in range(rounds):
                        requests = [_asgi(r) for r in build(n, port, seed)]
                        writer = StageMeter(WRITER_STAGE)
                        writer.install()
                        started = time.process_time()
                        try:
                            statuses = await _drive_asgi(app, requests, args.concurrency)
                            await asyncio.sleep(0.05)  # the last audit batch's commit
                        finally:
                            spent = (time.process_time() - started) / n * 1e6
                            writer.uninstall()
                        if spent < cpu_us:
                            cpu_us, stages = spent, writer.per_request_us(n)
                    # Per-request stages: one more round with a probe around each.
                    meter = StageMeter()
                    requests = [_asgi(r) for r in build(n, port, seed)]
                    meter.install()
                    try:
                        await _drive_asgi(app, requests, args.concurrency)
                        await asyncio.sleep(0.05)
                    finally:
                        meter.uninstall()
                    stages = {**meter.per_request_us(n), **stages}
                    results[name] = {
                        "requests": n,
                        "cpu_us": round(cpu_us, 1),
                        "stages_us": stages,
                        "rest_us": round(cpu_us - sum(stages.values()), 1),
                        "statuses": {str(k): v for k, v in sorted(statuses.items())},
                    }
            return results

        results = asyncio.run(measure())

    base = results["a_bare"]["cpu_us"]
    for name in ("b_a1_pipeline", "c_a2_pipeline", "d_a2_with_body"):
        results[name]["ratio_to_a"] = round(base / results[name]["cpu_us"], 3)
    report = {
        "benchmark": "gateway-cpu",
        "quick": args.quick,
        "requests": n,
        "concurrency": args.concurrency,
        "state": "redis" if args.redis_url else "memory",
        "python": sys.version.split()[0],
        "machine": f"{host.machine()} x{os.cpu_count()}",
        "note": "CPU µs per request in-process (no HTTP server); ratio = cpu(a) / cpu(x)",
        "results": results,
    }
    print(f"{'scenario':<16}{'CPU µs/req':>12}{'x (a)':>8}  statuses")
    for name, r in results.items():
        print(f"{name:<16}{r['cpu_us']:>12.1f}{r.get('ratio_to_a', 1.0):>8.2f}  {r['statuses']}")
    labels = [label for label, _, _ in (*STAGES, *WRITER_STAGE)]
    labels.append("rest: framework, handler, glue")
    print(f"\n{'stage (CPU µs per request)':<34}{'(a)':>8}{'(b)':>8}{'(c)':>8}{'(d)':>8}")
    for label in labels:
        row = []
        for name in ("a_bare", "b_a1_pipeline", "c_a2_pipeline", "d_a2_with_body"):
            r = results[name]
            value = r["rest_us"] if label.startswith("rest") else r["stages_us"].get(label)
            row.append("-" if value is None else f"{value:.1f}")
        print(f"{label:<34}" + "".join(f"{v:>8}" for v in row))
    suffix = "-quick" if args.quick else ""
    path = RESULTS.with_name(f"gateway-cpu{suffix}.json")
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"written {path.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small run (CI smoke)")
    parser.add_argument("--requests", type=int, default=None, help="timed requests per scenario")
    parser.add_argument("--concurrency", type=int, default=32, help="keep-alive connections")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument(
        "--rounds", type=int, default=4, help="turns each scenario takes (requests split evenly)"
    )
    parser.add_argument("--redis-url", default=None, help="shared nonces/limits (scale mode)")
    parser.add_argument(
        "--cpu", action="store_true", help="CPU per request and per stage, in-process"
    )
    parser.add_argument(
        "--skip-audit-commit",
        action="store_true",
        help="ablation, never a result: audit batches are resolved without being written, to "
        "show what the durable audit commit costs (written to gateway-skip-audit-commit.json)",
    )
    args = parser.parse_args()
    if args.cpu:
        cpu_main(args)
        return
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
            env={
                **os.environ, **env, "PYTHONPATH": f"{ROOT / 'platform'}:{ROOT}",
                "PUHUI_BENCH_SKIP_AUDIT_COMMIT": "1" if args.skip_audit_commit else "0",
            },
        )  # fmt: skip
        try:
            _wait_until_up(port, time.time() + 60)
            scenarios: list[tuple[str, Callable[[int, int, Seeded], list[bytes]]]] = [
                ("a_bare", bare_requests),
                ("b_a1_pipeline", a1_requests),
                ("c_a2_pipeline", a2_requests),
                ("d_a2_with_body", a2_body_requests),
            ]
            # The machine's speed drifts (a shared VM): the scenarios take turns in rounds, so
            # each ratio compares figures taken side by side, not minutes apart.
            for _name, build in scenarios:
                asyncio.run(_drive(port, build(warmup, port, seed), args.concurrency))
            per_round = max(1, n // args.rounds)
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in scenarios}
            for _ in range(args.rounds):
                for name, build in scenarios:
                    requests = build(per_round, port, seed)
                    server_before, own_before = _server_cpu(server.pid), time.process_time()
                    run = asyncio.run(_drive(port, requests, args.concurrency))
                    run["server_cpu"] = _server_cpu(server.pid) - server_before
                    run["load_cpu"] = time.process_time() - own_before
                    runs[name].append(run)
            results: dict[str, Any] = {name: _combined(rounds) for name, rounds in runs.items()}
        finally:
            server.terminate()
            server.wait(timeout=30)

    base = results["a_bare"]["rps"]
    base_cpu = results["a_bare"]["total_cpu_us"]
    for name in ("b_a1_pipeline", "c_a2_pipeline", "d_a2_with_body"):
        results[name]["ratio_to_a"] = round(results[name]["rps"] / base, 3)
        cpu = results[name]["total_cpu_us"]
        results[name]["cpu_ratio_to_a"] = round(base_cpu / cpu, 3) if cpu else None
    # What stands in the way, in µs per call: the target allows (a)'s CPU / target in all, so
    # the pipeline may add (a) / target - (a); its cryptography alone takes `floor`.
    floors = crypto_floor(seed, port)
    for name, target in TARGETS.items():
        floor = floors[name]["total"]
        added = results[name]["total_cpu_us"] - base_cpu
        results[name]["analysis"] = {
            "target": target,
            "allowed_added_us": round(base_cpu / target - base_cpu, 1),
            "added_us": round(added, 1),
            "crypto_floor_us": floors[name],
            "non_crypto_added_us": round(added - floor, 1),
            "allowed_non_crypto_us": round(base_cpu / target - base_cpu - floor, 1),
            "ceiling_ratio_with_free_pipeline": round(base_cpu / (base_cpu + floor), 3),
        }
    report = {
        "benchmark": "gateway-skip-audit-commit" if args.skip_audit_commit else "gateway",
        "ablation": "audit batches resolved without being written"
        if args.skip_audit_commit
        else None,
        "quick": args.quick,
        "requests": n,
        "concurrency": args.concurrency,
        "workers": args.workers,
        "state": "redis" if args.redis_url else "memory",
        "python": sys.version.split()[0],
        "machine": f"{host.machine()} x{os.cpu_count()}",
        "targets": {"b_ratio": TARGETS["b_a1_pipeline"], "c_ratio": TARGETS["c_a2_pipeline"]},
        "results": results,
    }
    print(
        f"{'scenario':<16}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'x (a)':>8}"
        f"{'CPU µs/req':>12}{'x (a) CPU':>11}  statuses"
    )
    for name, r in results.items():
        ratio = r.get("ratio_to_a", 1.0)
        cpu_ratio = r.get("cpu_ratio_to_a", 1.0) or 0.0
        print(
            f"{name:<16}{r['rps']:>10.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}{ratio:>8.2f}"
            f"{r['total_cpu_us']:>12.0f}{cpu_ratio:>11.2f}  {r['statuses']}"
        )
    print("CPU µs/req: server processes + this load generator, per request (load-independent)")
    if args.skip_audit_commit:
        print("ABLATION: audit batches were resolved without being written (not a result)")
    print(
        f"\n{'target analysis (CPU µs per call)':<34}{'allowed':>9}{'added':>8}{'crypto':>8}"
        f"{'rest':>8}{'rest ok':>9}{'ceiling':>9}"
    )
    for name in TARGETS:
        a = results[name]["analysis"]
        print(
            f"{name:<34}{a['allowed_added_us']:>9.0f}{a['added_us']:>8.0f}"
            f"{a['crypto_floor_us']['total']:>8.0f}{a['non_crypto_added_us']:>8.0f}"
            f"{a['allowed_non_crypto_us']:>9.0f}{a['ceiling_ratio_with_free_pipeline']:>9.2f}"
        )
    print(
        "allowed: CPU the pipeline may add to (a) at the target ratio; crypto: its unavoidable "
        "cryptography;\nrest ok: what that leaves every other step; ceiling: the ratio with "
        "everything but the cryptography free"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    suffix = ("-skip-audit-commit" if args.skip_audit_commit else "") + (
        "-quick" if args.quick else ""
    )
    path = RESULTS.with_name(f"gateway{suffix}.json")
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
