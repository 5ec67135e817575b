"""OAuth over HTTP: token issuance per second, and a DPoP-bound resource call vs a bare endpoint.

The app runs under uvicorn on loopback (one worker, SQLite, in-memory stores); the load comes
from a separate process through httpx with bounded concurrency. Scenarios, same run:

  token_pkjwt       POST /oauth/token, client_credentials, private_key_jwt (a fresh assertion each)
  token_pkjwt_dpop  the same with a DPoP proof (server nonce reused from the last response)
  bare_endpoint     GET /health/live (public: no token, no signature)
  resource_dpop     GET /api/v1/oauth/caller with a DPoP-bound token, fresh proof and the RFC 9421
                    request signature the gateway requires of every client call

Public per-IP and per-client rate limits are kept out of the figures by spreading the load over
X-Forwarded-For addresses (the loopback proxy is trusted) and over premium-plan clients.
Writes bench/results/oauth.json. `--quick` runs short rounds for CI smoke checks (printed only).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "platform"))
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results" / "oauth.json"
SCENARIOS = ("token_pkjwt", "token_pkjwt_dpop", "bare_endpoint", "resource_dpop")
CLIENTS = 16
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(workdir: Path, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "PUHUI_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'bench.db'}",
        "PUHUI_KEY_DIR": str(workdir / "keys"),
        "PUHUI_VAR_DIR": str(workdir),
        "PUHUI_ISSUER": f"http://127.0.0.1:{port}",
        "PUHUI_PORT": str(port),
        "PUHUI_LOG_LEVEL": "WARNING",
        "PUHUI_TRUSTED_PROXIES": "127.0.0.1/32",
        "PUHUI_REDIS_URL": "",
        "PUHUI_JOBS_ENABLED": "false",  # no scheduled jobs competing with the measured calls
    }


# ------------------------------------------------------------------ setup (parent process)
def _prepare(env: dict[str, str]) -> list[dict[str, str]]:
    """Migrate the empty database (alembic runs its own loop), then seed it."""
    os.environ.update(env)
    from puhui.config import load_settings
    from puhui.db.migrate import upgrade

    settings = load_settings()
    upgrade(settings)
    return asyncio.run(_seed(settings))


async def _seed(settings: Any) -> list[dict[str, str]]:
    """Tenants and premium private_key_jwt clients; returns their ids and private keys."""
    from puhui.app import create_app
    from puhui.oauth.keys import jwk_thumbprint
    from puhui.oauth.models import ClientAuthMethod, ClientEnvironment, ClientStatus, OAuthClient
    from puhui.tenancy.models import Tenant, TenantKind, TenantStatus

    app = create_app(settings)
    clients: list[dict[str, str]] = []
    async with app.lifespan():
        for _ in range(CLIENTS):
            key = ec.generate_private_key(ec.SECP256R1())
            jwk: dict[str, Any] = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
            jwk.update(kid=jwk_thumbprint(jwk), alg="ES256", use="sig")
            code = "bench-" + secrets.token_hex(4)
            async with app.state.db.unit_of_work() as session:
                tenant = Tenant(
                    code=code,
                    name=code,
                    kind=TenantKind.SCENARIO_PROVIDER,
                    status=TenantStatus.ACTIVE,
                    plan="premium",
                    is_sandbox=True,
                )
                session.add(tenant)
            async with app.state.db.unit_of_work(tenant.id) as session:
                client_id = "ph_" + secrets.token_urlsafe(12)
                session.add(
                    OAuthClient(
                        tenant_id=tenant.id,
                        client_id=client_id,
                        name="bench",
                        environment=ClientEnvironment.SANDBOX,
                        status=ClientStatus.ACTIVE,
                        auth_method=ClientAuthMethod.PRIVATE_KEY_JWT,
                        redirect_uris=[],
                        grant_types=["client_credentials"],
                        scopes=["bench.read"],
                        jwks={"keys": [jwk]},
                        ip_allowlist=[],
                        rate_plan="premium",
                        require_dpop=False,
                    )
                )
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            clients.append({"client_id": client_id, "kid": jwk["kid"], "pem": pem.decode()})
    return clients


def _wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server exited during start-up")
        try:
            if httpx.get(base + "/health/live", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not become ready in 120 s")


# ------------------------------------------------------------------ load (child process)
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Caller:
    """One bench client: its signing key, a DPoP key, and a nonce learnt from the server."""

    def __init__(self, spec: dict[str, str], issuer: str) -> None:
        self.client_id = spec["client_id"]
        self.kid = spec["kid"]
        key = serialization.load_pem_private_key(spec["pem"].encode(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        self.key = key
        self.dpop = ec.generate_private_key(ec.SECP256R1())
        self.dpop_jwk = ECAlgorithm.to_jwk(self.dpop.public_key(), as_dict=True)
        self.issuer = issuer
        self.nonce: str | None = None
        self.token: str | None = None

    def assertion(self) -> dict[str, str]:
        now = int(time.time())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.issuer,
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + 50,
        }
        signed = jwt.encode(claims, self.key, algorithm="ES256", headers={"kid": self.kid})
        return {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": signed,
        }

    def proof(self, method: str, url: str, token: str | None = None) -> str:
        claims: dict[str, Any] = {
            "jti": secrets.token_urlsafe(12),
            "htm": method,
            "htu": url,
            "iat": int(time.time()),
        }
        if self.nonce is not None and token is None:
            claims["nonce"] = self.nonce
        if token is not None:
            claims["ath"] = _b64(hashlib.sha256(token.encode()).digest())
        headers = {"typ": "dpop+jwt", "jwk": self.dpop_jwk}
        return jwt.encode(claims, self.dpop, algorithm="ES256", headers=headers)

    def signed(self, method: str, url: str, headers: dict[str, str]) -> dict[str, str]:
        from puhui.security.httpsig import HttpRequest, SignatureKey, sign_request

        key = SignatureKey("ecdsa-p256-sha256", self.key, keyid=self.kid)
        out = sign_request(
            HttpRequest(method, url, headers), key, components=["@method", "@target-uri"]
        )
        return {**headers, "Signature-Input": out.signature_input, "Signature": out.signature}


def _xff(i: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"}


async def _request(http: httpx.AsyncClient, scenario: str, caller: Caller, i: int) -> int:
    base = caller.issuer
    if scenario == "bare_endpoint":
        return (await http.get(base + "/health/live", headers=_xff(i))).status_code
    if scenario in {"token_pkjwt", "token_pkjwt_dpop"}:
        headers = _xff(i)
        if scenario == "token_pkjwt_dpop":
            headers["DPoP"] = caller.proof("POST", base + "/oauth/token")
        response = await http.post(base + "/oauth/token", data=caller.assertion(), headers=headers)
        caller.nonce = response.headers.get("dpop-nonce", caller.nonce)
        return response.status_code
    url = base + "/api/v1/oauth/caller"
    assert caller.token is not None
    headers = {
        "Authorization": f"DPoP {caller.token}",
        "DPoP": caller.proof("GET", url, caller.token),
    }
    return (await http.get(url, headers=caller.signed("GET", url, headers))).status_code


async def _prepare_tokens(http: httpx.AsyncClient, callers: list[Caller]) -> None:
    for i, caller in enumerate(callers):
        for _ in range(2):  # the first try learns the DPoP nonce
            headers = {"DPoP": caller.proof("POST", caller.issuer + "/oauth/token"), **_xff(i)}
            response = await http.post(
                caller.issuer + "/oauth/token", data=caller.assertion(), headers=headers
            )
            caller.nonce = response.headers.get("dpop-nonce", caller.nonce)
            if response.status_code == 200:
                caller.token = response.json()["access_token"]
                break
        if caller.token is None:
            raise SystemExit(f"could not obtain a token: {response.text}")


async def _load(config: dict[str, Any]) -> dict[str, Any]:
    callers = [Caller(spec, config["issuer"]) for spec in config["clients"]]
    limits = httpx.Limits(max_connections=config["concurrency"])
    async with httpx.AsyncClient(limits=limits, timeout=10) as http:
        if config["scenario"] == "resource_dpop":
            await _prepare_tokens(http, callers)
        latencies: list[float] = []
        statuses: dict[str, int] = {}
        counter = 0
        stop_at = time.perf_counter() + config["warmup"] + config["duration"]
        measure_from = time.perf_counter() + config["warmup"]

        async def worker(w: int) -> None:
            nonlocal counter
            caller = callers[w % len(callers)]
            while (start := time.perf_counter()) < stop_at:
                counter += 1
                status = await _request(http, config["scenario"], caller, counter)
                if start >= measure_from:
                    latencies.append(time.perf_counter() - start)
                    statuses[str(status)] = statuses.get(str(status), 0) + 1

        await asyncio.gather(*(worker(w) for w in range(config["concurrency"])))
    ok = statuses.get("200", 0)
    ordered = sorted(latencies)
    return {
        "requests": len(ordered),
        "ok": ok,
        "statuses": statuses,
        "per_second": round(ok / config["duration"], 1),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3) if ordered else None,
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 3) if ordered else None,
        "p99_ms": round(ordered[int(len(ordered) * 0.99)] * 1000, 3) if ordered else None,
    }


# ------------------------------------------------------------------ orchestration
def _run_scenario(config: dict[str, Any], workdir: Path) -> dict[str, Any]:
    path = workdir / f"{config['scenario']}.json"
    path.write_text(json.dumps(config))
    out = subprocess.run(
        [sys.executable, __file__, "--load", str(path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=config["duration"] + config["warmup"] + 120,
    )
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short rounds (CI smoke check)")
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds measured per scenario"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument("--load", type=Path, help=argparse.SUPPRESS)  # child: run one scenario
    args = parser.parse_args()
    if args.load:
        print(json.dumps(asyncio.run(_load(json.loads(args.load.read_text())))))
        return
    duration, warmup = (2.0, 0.5) if args.quick else (args.duration, 2.0)
    with tempfile.TemporaryDirectory(prefix="puhui-bench-oauth-") as tmp:
        workdir = Path(tmp)
        port = _free_port()
        env = _env(workdir, port)
        clients = _prepare(env)
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "puhui.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            env={**env, "PYTHONPATH": str(ROOT / "platform") + os.pathsep + str(ROOT)},
            cwd=ROOT,
        )
        try:
            _wait_ready(base, server)
            results = {}
            for scenario in SCENARIOS:
                config = {
                    "scenario": scenario,
                    "issuer": base,
                    "clients": clients,
                    "concurrency": args.concurrency,
                    "duration": duration,
                    "warmup": warmup,
                }
                results[scenario] = _run_scenario(config, workdir)
        finally:
            server.terminate()
            server.wait(timeout=10)
    bare, bound = results["bare_endpoint"], results["resource_dpop"]
    overhead = None
    if bare["mean_ms"] is not None and bound["mean_ms"] is not None:
        overhead = round(bound["mean_ms"] - bare["mean_ms"], 3)
    document = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "quick": args.quick,
        "concurrency": args.concurrency,
        "seconds_per_scenario": duration,
        "server": "uvicorn, 1 worker, SQLite, in-memory OAuth stores",
        "scenarios": results,
        "resource_dpop_minus_bare_mean_ms": overhead,
    }
    if not args.quick:  # a smoke check never overwrites the recorded results
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(document, indent=2) + "\n")
    print(f"{'scenario':<18}{'ok/s':>10}{'mean ms':>10}{'p50 ms':>10}{'p99 ms':>10}  statuses")
    for name, row in results.items():
        print(
            f"{name:<18}{row['per_second']:>10}{row['mean_ms']!s:>10}{row['p50_ms']!s:>10}"
            f"{row['p99_ms']!s:>10}  {row['statuses']}"
        )
    print(f"DPoP-bound resource call minus bare endpoint (mean): {overhead} ms")
    if not args.quick:
        print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
