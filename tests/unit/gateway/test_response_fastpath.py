"""Steps 11-14 fast paths: the response signature assembled from prepared strings signs exactly
what the generic RFC 9421 signer signs, the one-pass header assembly gives the headers the old
wrapper-plus-replace gave, and routes with classified fields are still masked."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, cast

import msgspec
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tests.conftest import freeze_clock

from puhui.audit.writer import AuditWriteFailed
from puhui.errors import InvalidRequest, ProblemError
from puhui.gateway.catalogue import ApiSpec
from puhui.gateway.client_profiles import ClientProfile
from puhui.gateway.steps import response as response_module
from puhui.gateway.steps import response_signature as rs
from puhui.gateway.steps.ip import check_ip, client_address
from puhui.gateway.steps.response import GatewayCall, ResponseSteps, header_value, raw_headers
from puhui.oauth.keys import Keyset, KeyState, generate_signing_key
from puhui.oauth.models import ClientEnvironment
from puhui.security.digest import content_digest, verify_content_digest
from puhui.security.httpsig import (
    HttpRequest,
    HttpResponse,
    InnerList,
    SignatureKey,
    VerifiedSignature,
    parse_dictionary,
    signature_base,
    verify_response,
)
from puhui.security.iprules import ForwardedForInvalid, IpAllowList, TrustedProxies
from puhui.security.ratelimit import Decision
from puhui.tenancy.models import TenantKind
from puhui.tenancy.subject import AuthSubject

NOW = datetime(2026, 5, 1, 2, 3, 4, tzinfo=UTC)
SECURITY = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
    # Not security headers: here so the comparison also covers defaults the response replaces
    # and names that are not lower-case.
    (b"content-length", b"0"),
    (b"X-Custom", b"default"),
)


class _Ring:
    """A KeyRing stand-in: `current()` is all the response signer asks of it."""

    def __init__(self, keyset: Keyset) -> None:
        self.keyset = keyset

    def current(self) -> Keyset:
        return self.keyset


def _ring(alg: str) -> _Ring:
    key = generate_signing_key(alg, KeyState.ACTIVE, NOW)  # type: ignore[arg-type]
    return _Ring(Keyset("response-signing", (key,)))


ED_RING = _ring("EdDSA")  # Ed25519 signatures are deterministic: whole headers compare equal
EC_RING = _ring("ES256")


def _verified(label: str, signature: bytes) -> VerifiedSignature:
    return VerifiedSignature(
        label=label,
        keyid="client-key",
        alg="ed25519",
        created=NOW,
        expires=None,
        nonce="n",
        tag=None,
        covered_components=('"@method"', '"@target-uri"'),
        signature=signature,
    )


def _request(headers: dict[str, str]) -> HttpRequest:
    return HttpRequest("GET", "https://api.bank.test/api/v1/x", headers)


def _canonical(label: str, signature: bytes) -> str:
    return f"{label}=:{base64.b64encode(signature).decode()}:"


def _outcome(call: Callable[[], dict[str, str]]) -> tuple[str, Any]:
    try:
        return "ok", call()
    except Exception as exc:  # the generic signer's refusals must be the fast path's too
        return "error", (type(exc), str(exc))


def _both(
    ring: _Ring,
    status: int,
    content_type: str | None,
    body: bytes,
    request: HttpRequest,
    verified: VerifiedSignature,
) -> tuple[tuple[str, Any], tuple[str, Any]]:
    with freeze_clock(NOW):
        fast = _outcome(
            lambda: rs.sign_response(
                ring,  # type: ignore[arg-type]
                status,
                content_type,
                body,
                request,
                verified,
            )
        )
        generic = _outcome(
            lambda: rs._generic_headers(
                rs._signer(ring).key,  # type: ignore[arg-type]
                status,
                content_type,
                body,
                request,
                verified,
            )
        )
    return fast, generic


labels = st.from_regex(r"[a-z*][a-z0-9_\-.*]{0,8}", fullmatch=True)
content_types = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "application/json",
            "application/problem+json",
            " application/json\t",
            "text/plain; charset=utf-8",
            "",
            "a\nb",
            "a\rb",
            "caf\u00e9/x",
        ]
    ),
    st.text(st.characters(min_codepoint=9, max_codepoint=255), max_size=30),
)


class TestResponseSignatureFastPath:
    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        status=st.one_of(st.integers(100, 599), st.integers(-5, 1200)),
        content_type=content_types,
        body=st.binary(max_size=200),
        label=labels,
        signature=st.binary(min_size=0, max_size=80),
    )
    @example(200, "application/json", b'{"a":1}', "sig1", b"\x01" * 64)
    @example(204, None, b"", "sig1", b"\x02" * 64)
    @example(999, "x", b"", "*", b"")
    def test_canonical_request_signature_gives_the_generic_headers(
        self, status: int, content_type: str | None, body: bytes, label: str, signature: bytes
    ) -> None:
        request = _request({"host": "api.bank.test", "signature": _canonical(label, signature)})
        fast, generic = _both(
            ED_RING, status, content_type, body, request, _verified(label, signature)
        )
        assert fast == generic

    @settings(max_examples=300, deadline=None)
    @given(
        label=labels,
        signature=st.binary(min_size=1, max_size=70),
        variant=st.sampled_from(
            [
                "spaces",
                "member-before",
                "member-after",
                "params",
                "unpadded",
                "other-label",
                "missing",
                "empty",
                "garbage",
                "mixed-case-duplicate",
                "mixed-case-only",
                "other-bytes",
            ]
        ),
        content_type=content_types,
    )
    def test_unusual_request_signature_headers_give_the_generic_outcome(
        self, label: str, signature: bytes, variant: str, content_type: str | None
    ) -> None:
        canonical = _canonical(label, signature)
        b64 = base64.b64encode(signature).decode()
        headers: dict[str, str] = {"host": "api.bank.test"}
        value = {
            "spaces": f"  {canonical} ",
            "member-before": f"zz=:AAAA:, {canonical}",
            "member-after": f"{canonical}, zz=:AAAA:",
            "params": f"{canonical};x=1",
            "unpadded": f"{label}=:{b64.rstrip('=')}:",
            "other-label": _canonical(label + "x", signature),
            "empty": "",
            "garbage": f"{label}=(((",
            "other-bytes": _canonical(label, signature[::-1] + b"\x00"),
        }.get(variant, canonical)
        if variant == "mixed-case-duplicate":
            headers["signature"] = canonical
            headers["Signature"] = _canonical(label, b"other")
        elif variant == "mixed-case-only":
            headers["Signature"] = canonical
        elif variant != "missing":
            headers["signature"] = value
        request = _request(headers)
        fast, generic = _both(
            ED_RING, 200, content_type, b"{}", request, _verified(label, signature)
        )
        assert fast == generic

    def test_the_usual_response_takes_the_fast_path_and_signs_the_generic_base(self) -> None:
        signature = b"\x07" * 64
        request = _request({"signature": _canonical("sig1", signature)})
        verified = _verified("sig1", signature)
        digest = rs._sha256_digest(b'{"a":1}')
        with freeze_clock(NOW):
            fast = rs._fast_headers(
                rs._signer(EC_RING),  # type: ignore[arg-type]
                200,
                "application/json",
                digest,
                request,
                verified,
                int(NOW.timestamp()),
            )
        assert fast is not None
        headers, base = fast
        params = parse_dictionary(headers["signature-input"])["bank"]
        assert isinstance(params, InnerList)
        response = HttpResponse(200, {"content-digest": digest, "content-type": "application/json"})
        assert base == signature_base(response, params, request=request)

    def test_es256_response_verifies_with_the_published_key(self) -> None:
        signature = b"\x09" * 64
        request = _request({"signature": _canonical("sig1", signature)})
        body = b'{"accepted":true}'
        with freeze_clock(NOW):
            headers = rs.sign_response(
                EC_RING,  # type: ignore[arg-type]
                200,
                "application/json",
                body,
                request,
                _verified("sig1", signature),
            )
            jwk = EC_RING.keyset.public_jwks()["keys"][0]
            verified = verify_response(
                HttpResponse(200, {**headers, "content-type": "application/json"}),
                resolve_key=lambda kid: SignatureKey.from_jwk(jwk) if kid == jwk["kid"] else None,
                request=request,
                required_components=("@status", "content-digest", '"signature";req;key="sig1"'),
                label="bank",
            )
        assert verified.keyid == EC_RING.keyset.active.kid
        verify_content_digest(headers["content-digest"], body)

    def test_a_new_keyset_signs_with_its_own_key(self) -> None:
        ring = _ring("EdDSA")
        first = rs._signer(ring)  # type: ignore[arg-type]
        assert rs._signer(ring) is first  # type: ignore[arg-type]
        ring.keyset = _ring("EdDSA").keyset
        second = rs._signer(ring)  # type: ignore[arg-type]
        assert second.key.keyid == ring.keyset.active.kid != first.key.keyid

    @given(st.binary(max_size=500))
    def test_digest_is_the_rfc9530_header(self, body: bytes) -> None:
        assert rs._sha256_digest(body) == content_digest(body)


# --------------------------------------------------------------------------- header assembly

A1 = ApiSpec(operation_id="ProbeA1", api_id="OPPHBANK0112901", level="A1", audience="client")
A2 = ApiSpec(operation_id="ProbeA2", api_id="OPPHBANK0212901", level="A2", audience="client")
MASKED = ApiSpec(
    operation_id="ProbeMasked",
    api_id="OPPHBANK0112902",
    level="A1",
    audience="client",
    fields={"phone": ("C2", "phone"), "id_number": ("C2", "id_number"), "pin": ("C3", "x")},
)
C1_ONLY = ApiSpec(
    operation_id="ProbeC1",
    api_id="OPPHBANK0112903",
    level="A1",
    audience="client",
    fields={"product": ("C1", "text")},
)
DECISION = Decision(True, 9, 1, 0, '"burst";q=10;w=1', '"burst";r=9;t=1')
SIGNATURE = b"\x05" * 64
SIGNED_REQUEST = _request({"signature": _canonical("sig1", SIGNATURE)})
BODY = msgspec.json.encode(
    {"product": "loan", "phone": "13812345678", "id_number": "110101199001011234", "pin": "1"}
)

header_names = st.sampled_from(
    [
        b"content-type",
        b"Content-Type",
        b"content-length",
        b"Content-Length",
        b"x-request-id",
        b"X-Request-ID",
        b"cache-control",
        b"Cache-Control",
        b"x-frame-options",
        b"ratelimit",
        b"signature",
        b"content-digest",
        b"x-custom",
    ]
)
handler_headers = st.lists(
    st.tuples(header_names, st.sampled_from([b"application/json", b"text/plain", b"1", b""])),
    max_size=8,
)


def _client() -> AuthSubject:
    return AuthSubject(
        kind="client",
        tenant_id=uuid.uuid4(),
        tenant_kind=TenantKind.SCENARIO_PROVIDER,
        client_id="c1",
    )


async def _drive(
    *,
    new: bool,
    spec: ApiSpec | None,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    streamed: bool,
    decision: Decision | None,
    audit_fails: bool,
    as_lists: bool,
) -> list[Any]:
    """Send one response through ResponseSteps the old way (the pipeline's wrapper appending
    security headers at the start) or the new way (`defaults`) and return what left."""
    sent: list[Any] = []

    async def final(message: Any) -> None:
        sent.append(message)

    async def audit(*_args: Any, **_kwargs: Any) -> None:
        if audit_fails:
            raise AuditWriteFailed("batch lost")

    call = GatewayCall(started=0.0)
    call.bind(spec, "req-0123456789", "127.0.0.1", None)
    signing = spec is not None and spec.level == "A2"
    controls = cast("Any", SimpleNamespace(response_keys=ED_RING))
    respond = ResponseSteps(
        final,
        controls,
        call,
        subject=_client(),
        method="GET",
        decision=decision,
        signed_request=SIGNED_REQUEST if signing else None,
        verified=_verified("sig1", SIGNATURE) if signing else None,
        defaults=SECURITY if new else (),
    )
    send: Callable[[Any], Awaitable[None]]
    if new:
        respond.headers[b"x-request-id"] = b"req-0123456789"
        send = respond.send
    else:

        async def send(message: Any) -> None:
            if message["type"] == "http.response.start":
                raw = raw_headers(message)
                present = {name.lower() for name, _ in raw}
                respond.headers[b"x-request-id"] = b"req-0123456789"
                raw.extend(pair for pair in SECURITY if pair[0] not in present)
            await respond.send(message)

    original = getattr(response_module, "audit_call")  # noqa: B009 - not re-exported
    setattr(response_module, "audit_call", audit)  # noqa: B010
    try:
        start_headers: Any = [list(pair) for pair in headers] if as_lists else list(headers)
        await send({"type": "http.response.start", "status": 200, "headers": start_headers})
        if streamed:
            await send({"type": "http.response.body", "body": body[:5], "more_body": True})
            await send({"type": "http.response.body", "body": body[5:], "more_body": False})
        else:
            await send({"type": "http.response.body", "body": body, "more_body": False})
    except AuditWriteFailed:
        sent.append("audit failed")
    finally:
        setattr(response_module, "audit_call", original)  # noqa: B010
    return sent


class TestHeaderAssembly:
    @settings(max_examples=300, deadline=None)
    @given(
        spec=st.sampled_from([None, A1, A2, MASKED, C1_ONLY]),
        headers=handler_headers,
        streamed=st.booleans(),
        decision=st.sampled_from([None, DECISION]),
        audit_fails=st.booleans(),
        as_lists=st.booleans(),
    )
    def test_defaults_give_the_headers_of_the_old_wrapper(
        self,
        spec: ApiSpec | None,
        headers: list[tuple[bytes, bytes]],
        streamed: bool,
        decision: Decision | None,
        audit_fails: bool,
        as_lists: bool,
    ) -> None:
        kwargs: dict[str, Any] = {
            "spec": spec,
            "headers": headers,
            "body": BODY,
            "streamed": streamed,
            "decision": decision,
            "audit_fails": audit_fails,
            "as_lists": as_lists,
        }
        with freeze_clock(NOW):
            old = asyncio.run(_drive(new=False, **kwargs))
            new = asyncio.run(_drive(new=True, **kwargs))
        assert new == old


class TestMaskingStillApplies:
    async def _body(self, spec: ApiSpec, content_type: bytes = b"application/json") -> Any:
        sent = await _drive(
            new=True,
            spec=spec,
            headers=[(b"content-type", content_type), (b"content-length", b"%d" % len(BODY))],
            body=BODY,
            streamed=False,
            decision=DECISION,
            audit_fails=False,
            as_lists=False,
        )
        start, body = sent
        assert header_value(start["headers"], b"content-length") == str(len(body["body"]))
        return start, body["body"]

    def test_route_with_c2_fields_is_masked_in_the_response(self) -> None:
        start, body = asyncio.run(self._body(MASKED))
        assert msgspec.json.decode(body) == {
            "product": "loan",
            "phone": "138****5678",
            "id_number": "1101**********1234",
            "pin": "******",
        }
        names = [name for name, _ in start["headers"]]
        assert names.count(b"content-length") == 1
        assert b"x-content-type-options" in names

    def test_c1_only_and_unclassified_routes_pass_the_body_through(self) -> None:
        for spec in (C1_ONLY, A1):
            _, body = asyncio.run(self._body(spec))
            assert body == BODY

    def test_non_json_bodies_are_not_decoded(self) -> None:
        _, body = asyncio.run(self._body(MASKED, b"text/plain"))
        assert body == BODY

    def test_a2_response_is_masked_before_it_is_signed(self) -> None:
        spec = ApiSpec(
            operation_id="ProbeMaskedA2",
            api_id="OPPHBANK0212903",
            level="A2",
            audience="client",
            fields=MASKED.fields,
        )
        with freeze_clock(NOW):
            start, body = asyncio.run(self._body(spec))
        assert msgspec.json.decode(body)["phone"] == "138****5678"
        verify_content_digest(header_value(start["headers"], b"content-digest"), body)


@pytest.fixture(autouse=True)
def _fresh_signer() -> Iterator[None]:
    """Tests swap keysets; leave the module's cached signer as other tests expect to find it."""
    saved = rs._current
    yield
    rs._current = saved


# --------------------------------------------------------------------------- steps 6 (IP rule)


def _reference_address(peer: str, forwarded: str | None, proxies: TrustedProxies) -> str:
    """What `client_address` answered before it remembered results (raises the same errors)."""
    try:
        return str(proxies.client_ip(peer, forwarded))
    except ForwardedForInvalid:
        raise InvalidRequest("X-Forwarded-For holds an entry that is not an IP address.") from None
    except ValueError:
        return peer


def _outcome_of(function: Callable[..., object], *args: Any) -> tuple[str, object]:
    try:
        return "ok", function(*args)
    except Exception as exc:
        return "error", (type(exc), str(exc))


addresses = st.one_of(
    st.sampled_from(
        [
            "127.0.0.1",
            "10.1.2.3",
            "10.0.0.1",
            "192.168.1.1",
            "::1",
            "::ffff:10.1.2.3",
            "2001:db8::1",
            " 10.1.2.3 ",
            "testclient",
            "",
            "300.1.1.1",
        ]
    ),
    st.ip_addresses().map(str),
)
forwarded_headers = st.one_of(
    st.none(),
    st.lists(addresses, max_size=4).map(", ".join),
    st.sampled_from(["", " , ", "10.1.2.3,,", "x" * 300, "1.2.3.4, garbage"]),
)
PROXY_SETS = [
    TrustedProxies.parse([]),
    TrustedProxies.parse(["10.0.0.0/8"]),
    TrustedProxies.parse(["10.0.0.0/8", "::1/128", "127.0.0.0/8"]),
]


class TestIpFastPath:
    @settings(max_examples=400, deadline=None)
    @given(
        calls=st.lists(
            st.tuples(addresses, forwarded_headers, st.sampled_from(range(len(PROXY_SETS)))),
            min_size=1,
            max_size=6,
        )
    )
    def test_remembered_addresses_match_a_fresh_resolution(
        self, calls: list[tuple[str, str | None, int]]
    ) -> None:
        for peer, forwarded, which in calls * 2:  # the second round answers from the cache
            proxies = PROXY_SETS[which]
            headers = {} if forwarded is None else {"x-forwarded-for": forwarded}
            scope = cast("Any", {"client": (peer, 5000)})
            assert _outcome_of(client_address, scope, headers, proxies) == _outcome_of(
                _reference_address, peer, forwarded, proxies
            )

    def test_an_equal_but_different_proxy_set_is_resolved_afresh(self) -> None:
        scope = cast("Any", {"client": ("10.0.0.1", 5000)})
        headers = {"x-forwarded-for": "203.0.113.9"}
        assert client_address(scope, headers, PROXY_SETS[1]) == "203.0.113.9"
        assert client_address(scope, headers, PROXY_SETS[0]) == "10.0.0.1"
        assert client_address(scope, {}, PROXY_SETS[0]) == "10.0.0.1"

    @settings(max_examples=300, deadline=None)
    @given(
        cidrs=st.sampled_from([None, [], ["127.0.0.0/8"], ["10.0.0.0/8", "2001:db8::/32"]]),
        probes=st.lists(addresses, min_size=1, max_size=8),
    )
    def test_remembered_verdicts_match_the_allow_list(
        self, cidrs: list[str] | None, probes: list[str]
    ) -> None:
        rule = None if cidrs is None else IpAllowList.parse(cidrs)
        profile = ClientProfile(
            client_id="c1",
            tenant_id=uuid.uuid4(),
            version=1,
            active=True,
            environment=ClientEnvironment.PRODUCTION,
            rate_plan="basic",
            ip_allowlist=rule,
            keys={},
        )
        for address in probes * 2:
            if rule is None:
                expected = True
            else:
                try:
                    expected = rule.permits(address)
                except ValueError:
                    expected = False
            outcome = _outcome_of(check_ip, profile, address)
            if expected:
                assert outcome == ("ok", None)
            else:
                assert outcome[0] == "error"
                assert cast("tuple[type, str]", outcome[1])[0] is ProblemError
