"""The identity step's fast paths (gateway step 3) decide exactly as the generic code they replace.

Each fast primitive is compared with a frozen copy of what it replaced: msgspec-first JSON with
`json.loads`, the binascii segment decoder with the `base64`-module one, the direct ES256 check
with PyJWT's, and the whole DPoP proof verification with a reference verifier built from those
originals, on generated proofs and on every way a proof must be refused (same error, same text).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import re
import secrets
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, get_default_algorithms
from tests.conftest import freeze_clock

from puhui.clock import FrozenClock
from puhui.oauth import resource
from puhui.oauth.dpop import (
    DPoPError,
    DPoPVerifier,
    InvalidDPoPProof,
    confirm_binding,
)
from puhui.oauth.jwt_tokens import (
    CompactJWS,
    _json_loads,
    _segment,
    parse_compact_jws,
    signature_check,
    verify_jws_signature,
)
from puhui.oauth.keys import jwk_thumbprint
from puhui.oauth.stores import MemoryReplayCache

URL = "https://api.puhui-bank.example/v1/loans"
TOKEN = "eyJhbGciOiJFUzI1NiJ9.access.token-for-the-ath-claim"
NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
_PYJWT = get_default_algorithms()

# --- frozen copies of the code the fast paths replaced (platform/puhui/oauth, before) --------

_REF_B64URL = re.compile(rb"[A-Za-z0-9_-]*")


def ref_segment(segment: bytes) -> bytes:
    if len(segment) % 4 == 1 or not _REF_B64URL.fullmatch(segment):
        raise ValueError("segment is not base64url")
    decoded = base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != segment:
        raise ValueError("segment is not canonical base64url")
    return decoded


def ref_parse(token: str) -> CompactJWS:
    if len(token) > 16_384:
        raise ValueError("JWT is too long")
    raw = token.encode("ascii")
    parts = raw.split(b".")
    if len(parts) != 3:
        raise ValueError("a compact JWS has three parts")
    header = json.loads(ref_segment(parts[0]))
    if not isinstance(header, dict):
        raise ValueError("JOSE header is not a JSON object")
    return CompactJWS(
        header=header,
        payload=ref_segment(parts[1]),
        signing_input=parts[0] + b"." + parts[1],
        signature=ref_segment(parts[2]),
    )


def ref_claims(jws: CompactJWS) -> dict[str, Any]:
    claims = json.loads(jws.payload)
    if not isinstance(claims, dict):
        raise ValueError("JWT payload is not a JSON object")
    return claims


def ref_verify_signature(jws: CompactJWS, alg: str, key: Any) -> bool:
    algorithm = _PYJWT.get(alg) if alg in {"ES256", "EdDSA", "PS256"} else None
    return algorithm is not None and bool(algorithm.verify(jws.signing_input, key, jws.signature))


def ref_access_token_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class ReferenceVerifier(DPoPVerifier):
    """`DPoPVerifier` with its signed content read as it was: PyJWT signatures, json.loads, no
    header cache. The header and request-binding checks did not change and are shared."""

    def _signed_content(self, proof: str) -> tuple[CompactJWS, str, dict[str, Any]]:
        try:
            jws = ref_parse(proof)
        except ValueError as exc:
            raise InvalidDPoPProof("DPoP proof is not a well-formed JWT") from exc
        alg, jkt, key = self._header_key(jws.header)  # unchanged checks, no cache
        if not ref_verify_signature(jws, alg, key):
            raise InvalidDPoPProof("DPoP proof signature is invalid")
        try:
            claims = ref_claims(jws)
        except ValueError as exc:
            raise InvalidDPoPProof("DPoP proof payload is not a JSON object") from exc
        return jws, jkt, claims


# --- helpers ------------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


P256 = ec.generate_private_key(ec.SECP256R1())
OTHER_P256 = ec.generate_private_key(ec.SECP256R1())
ED25519 = ed25519.Ed25519PrivateKey.generate()


def public_jwk(key: Any) -> dict[str, Any]:
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return dict(OKPAlgorithm.to_jwk(key.public_key(), as_dict=True))
    return dict(ECAlgorithm.to_jwk(key.public_key(), as_dict=True))


def sign(key: Any, alg: str, signing_input: bytes) -> bytes:
    if alg == "EdDSA" and isinstance(key, ed25519.Ed25519PrivateKey):
        return key.sign(signing_input)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return b"\x00" * 64


def compose(header: Any, claims: Any, key: Any = P256, alg: str = "ES256") -> str:
    """A compact JWS over arbitrary JSON header and claims (so `alg: none` etc. can be built)."""
    signing_input = (
        b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    ).encode()
    return signing_input.decode() + "." + b64url(sign(key, alg, signing_input))


def good_header(key: Any = P256, alg: str = "ES256") -> dict[str, Any]:
    return {"typ": "dpop+jwt", "alg": alg, "jwk": public_jwk(key)}


_DROP = object()  # a claim to leave out


def good_claims(**overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "jti": secrets.token_urlsafe(12),
        "htm": "GET",
        "htu": URL,
        "iat": int(NOW.timestamp()),
        "ath": ref_access_token_hash(TOKEN),
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not _DROP}


def outcome(call: Callable[[], Any]) -> tuple[str, Any]:
    """What a call did, comparable across implementations: its result or its error and text."""
    try:
        return "ok", call()
    except DPoPError as exc:
        return type(exc).__name__, exc.description


@pytest.fixture(autouse=True)
def frozen() -> Iterator[FrozenClock]:
    with freeze_clock(NOW) as clock:
        yield clock


def both(**kwargs: Any) -> tuple[DPoPVerifier, ReferenceVerifier]:
    return DPoPVerifier(MemoryReplayCache(), **kwargs), ReferenceVerifier(
        MemoryReplayCache(), **kwargs
    )


def run_both(
    proofs: list[str],
    *,
    method: str = "GET",
    uri: str = URL,
    access_token: str | None = TOKEN,
    **kwargs: Any,
) -> list[tuple[str, Any]]:
    """Each proof through the fast and the reference verifier in turn; outcomes must agree."""
    fast, ref = both(**kwargs)
    results = []
    for proof in proofs:
        got = outcome(
            lambda p=proof: asyncio.run(
                fast.verify(p, method=method, uri=uri, access_token=access_token)
            )
        )
        want = outcome(
            lambda p=proof: asyncio.run(
                ref.verify(p, method=method, uri=uri, access_token=access_token)
            )
        )
        assert got == want, proof
        results.append(got)
    return results


# --- the listed negative cases, each refused exactly as before --------------------------------


def _tamper_payload(proof: str) -> str:
    head, payload, sig = proof.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["htm"] = "POST"
    return ".".join((head, b64url(json.dumps(claims).encode()), sig))


def _tamper_signature(proof: str) -> str:
    head, payload, sig = proof.split(".")
    raw = bytearray(base64.urlsafe_b64decode(sig + "=="))
    raw[10] ^= 0x01
    return ".".join((head, payload, b64url(bytes(raw))))


def _private_jwk_header() -> dict[str, Any]:
    private = json.loads(ECAlgorithm.to_jwk(P256, as_dict=False))
    return {"typ": "dpop+jwt", "alg": "ES256", "jwk": private}


NEGATIVE_CASES: dict[str, tuple[list[str], str]] = {
    "wrong htm": ([compose(good_header(), good_claims(htm="POST"))], "htm"),
    "wrong htu": ([compose(good_header(), good_claims(htu=URL + "/other"))], "htu"),
    "stale iat": ([compose(good_header(), good_claims(iat=int(NOW.timestamp()) - 61))], "iat"),
    "future iat": ([compose(good_header(), good_claims(iat=int(NOW.timestamp()) + 6))], "iat"),
    "wrong ath": ([compose(good_header(), good_claims(ath=ref_access_token_hash("x")))], "ath"),
    "missing ath": ([compose(good_header(), good_claims(ath=_DROP))], "ath"),
    "alg none": ([compose({**good_header(), "alg": "none"}, good_claims())], "not allowed"),
    "alg HS256": ([compose({**good_header(), "alg": "HS256"}, good_claims())], "not allowed"),
    "typ missing": ([compose({"alg": "ES256", "jwk": public_jwk(P256)}, good_claims())], "typ"),
    "typ JWT": ([compose({**good_header(), "typ": "JWT"}, good_claims())], "typ"),
    "private jwk": ([compose(_private_jwk_header(), good_claims())], "private"),
    "crit": ([compose({**good_header(), "crit": ["x"]}, good_claims())], "critical"),
    "jwk of another key": (
        [compose(good_header(OTHER_P256), good_claims(), key=P256)],
        "signature",
    ),
    "tampered payload": ([_tamper_payload(compose(good_header(), good_claims()))], "signature"),
    "tampered signature": (
        [_tamper_signature(compose(good_header(), good_claims()))],
        "signature",
    ),
    "short signature": ([compose(good_header(), good_claims()).rsplit(".", 1)[0] + ".AAAA"], "sig"),
    "payload not an object": ([compose(good_header(), [1, 2])], "JSON object"),
    "not a JWT": (["not.a.jwt", "a.b", "", "é.b.c"], "well-formed"),
}


@pytest.mark.parametrize("name", sorted(NEGATIVE_CASES))
def test_each_refusal_is_the_same_as_before(name: str) -> None:
    proofs, message = NEGATIVE_CASES[name]
    for kind, description in run_both(proofs):
        assert kind == "InvalidDPoPProof"
        assert message in description


@pytest.mark.parametrize("iat", [float("inf"), float("-inf"), float("nan"), 10**30])
def test_unrepresentable_iat_fails_the_same_way(iat: float) -> None:
    """json.loads reads Infinity/NaN and huge numbers, which no datetime holds: both verifiers
    fail alike (an unexpected error, as before; the fast JSON path must not change that)."""
    proof = compose(good_header(), good_claims(iat=iat))
    errors = []
    for verifier in both():
        with pytest.raises((OverflowError, ValueError, OSError)) as caught:
            asyncio.run(verifier.verify(proof, method="GET", uri=URL, access_token=TOKEN))
        errors.append((type(caught.value), str(caught.value)))
    assert errors[0] == errors[1]


def test_reused_jti_is_refused_the_second_time_by_both() -> None:
    proof = compose(good_header(), good_claims())
    results = run_both([proof, proof])
    assert results[0][0] == "ok"
    assert results[1] == ("InvalidDPoPProof", "DPoP proof jti was already used")


def test_key_not_matching_cnf_jkt_is_refused_by_the_binding_check() -> None:
    proof = compose(good_header(OTHER_P256), good_claims(), key=OTHER_P256)
    ((kind, verified),) = run_both([proof])
    assert kind == "ok"
    with pytest.raises(DPoPError, match="does not match the access token binding"):
        confirm_binding(jwk_thumbprint(public_jwk(P256)), verified)


def test_a_cached_header_does_not_admit_a_later_bad_signature() -> None:
    """The header cache keeps the key and checks; the signature is still checked every time."""
    header = good_header()
    good = compose(header, good_claims())
    bad = _tamper_signature(compose(header, good_claims()))
    forged = compose(header, good_claims(), key=OTHER_P256)
    results = run_both([good, bad, forged, compose(header, good_claims())])
    assert [kind for kind, _ in results] == ["ok", "InvalidDPoPProof", "InvalidDPoPProof", "ok"]


def test_eddsa_proofs_take_the_generic_signature_path() -> None:
    header = good_header(ED25519, "EdDSA")
    good = compose(header, good_claims(), key=ED25519, alg="EdDSA")
    results = run_both([good, _tamper_signature(compose(header, good_claims(), ED25519, "EdDSA"))])
    assert [kind for kind, _ in results] == ["ok", "InvalidDPoPProof"]


def test_nonce_rules_are_unchanged() -> None:
    from puhui.oauth.dpop import DPoPNonces

    nonces = DPoPNonces([b"n" * 32])
    proofs = [
        compose(good_header(), good_claims()),
        compose(good_header(), good_claims(nonce="made-up")),
        compose(good_header(), good_claims(nonce=nonces.current())),
        compose(good_header(), good_claims(nonce=5)),
    ]
    fast, ref = both(nonces=nonces, require_nonce=True)
    for proof in proofs:

        def call(verifier: DPoPVerifier, p: str = proof) -> Any:
            try:
                return asyncio.run(verifier.verify(p, method="GET", uri=URL, access_token=TOKEN))
            except DPoPError as exc:
                return type(exc).__name__, exc.description, getattr(exc, "nonce", None)

        assert call(fast) == call(ref)


# --- generated proofs: fast verifier == reference verifier ------------------------------------

_TYPS = st.sampled_from(["dpop+jwt", "DPoP+JWT", "jwt", "application/dpop+jwt", None, 3])
_ALGS = st.sampled_from(["ES256", "EdDSA", "PS256", "HS256", "none", "ES384", None])
_JWKS = st.sampled_from(["p256", "other", "ed25519", "private", "missing", "garbage", "p256-extra"])
_JTIS = st.one_of(st.text(min_size=0, max_size=300), st.integers(), st.none(), st.just("j" * 256))
_HTMS = st.sampled_from(["GET", "get", "POST", "", None, 1])
_HTUS = st.sampled_from(
    [
        URL,
        URL + "?q=1#f",
        "HTTPS://API.puhui-bank.example:443/v1/./loans",
        "https://api.puhui-bank.example/v1/%6Coans",
        "https://api.puhui-bank.example/v1/loans/",
        "https://evil.example/v1/loans",
        "https://user@api.puhui-bank.example/v1/loans",
        "https://api.puhui-bank.example:99999/v1/loans",
        "not a uri",
        None,
        7,
    ]
)
_IATS = st.one_of(
    st.integers(min_value=-70, max_value=10).map(lambda d: int(NOW.timestamp()) + d),
    st.floats(min_value=-61.0, max_value=6.0).map(lambda d: NOW.timestamp() + d),
    st.sampled_from([None, True, "1", 0]),
)
_ATHS = st.sampled_from(["good", "bad", None, 5])
_NONCES = st.sampled_from([None, "n", 5])
_MUTATIONS = st.sampled_from(["none", "payload", "signature", "truncate", "pad", "swap-b64"])


def _jwk_for(choice: str) -> Any:
    return {
        "p256": public_jwk(P256),
        "other": public_jwk(OTHER_P256),
        "ed25519": public_jwk(ED25519),
        "private": json.loads(ECAlgorithm.to_jwk(P256, as_dict=False)),
        "missing": None,
        "garbage": {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"},
        "p256-extra": {**public_jwk(P256), "use": "sig", "kid": "k1"},
    }[choice]


def _mutate(proof: str, how: str) -> str:
    head, payload, sig = proof.split(".")
    if how == "payload":
        return ".".join(
            (head, payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1], sig)
        )
    if how == "signature":
        return _tamper_signature(proof)
    if how == "truncate":
        return ".".join((head, payload, sig[:-4]))
    if how == "pad":
        return ".".join((head, payload + "=", sig))
    if how == "swap-b64":
        return ".".join((head, payload.replace("-", "+").replace("_", "/"), sig))
    return proof


_FIELDS: dict[str, tuple[Any, st.SearchStrategy[Any]]] = {
    # name: (the good value, what else it may be)
    "typ": ("dpop+jwt", _TYPS),
    "alg": ("ES256", _ALGS),
    "jwk": ("p256", _JWKS),
    "signer": ("p256", st.sampled_from(["p256", "other", "ed25519"])),
    "jti": (None, _JTIS),  # None: a fresh random jti
    "htm": ("GET", _HTMS),
    "htu": (URL, _HTUS),
    "iat": (int(NOW.timestamp()), _IATS),
    "ath": ("good", _ATHS),
    "nonce": (None, _NONCES),
    "mutation": ("none", _MUTATIONS),
}


@given(
    data=st.data(),
    broken=st.sets(st.sampled_from(sorted(_FIELDS)), max_size=2),
    repeat=st.booleans(),
    with_token=st.booleans(),
)
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_generated_proofs_decide_as_the_reference(
    data: st.DataObject, broken: set[str], repeat: bool, with_token: bool
) -> None:
    """Valid proofs with up to two fields made odd (or bad), through both verifiers."""
    v = {
        name: data.draw(strategy, label=name) if name in broken else good
        for name, (good, strategy) in _FIELDS.items()
    }
    header: dict[str, Any] = {"alg": v["alg"], "jwk": _jwk_for(v["jwk"])}
    if v["typ"] is not None:
        header["typ"] = v["typ"]
    jti = secrets.token_urlsafe(9) if v["jti"] is None and "jti" not in broken else v["jti"]
    claims: dict[str, Any] = {"jti": jti, "htm": v["htm"], "htu": v["htu"], "iat": v["iat"]}
    if v["ath"] is not None:
        claims["ath"] = {"good": ref_access_token_hash(TOKEN), "bad": "x"}.get(v["ath"], v["ath"])
    if v["nonce"] is not None:
        claims["nonce"] = v["nonce"]
    claims = {k: value for k, value in claims.items() if value is not None}
    key = {"p256": P256, "other": OTHER_P256, "ed25519": ED25519}[v["signer"]]
    alg = v["alg"] if isinstance(v["alg"], str) else ""
    proof = _mutate(compose(header, claims, key=key, alg=alg), v["mutation"])
    token = TOKEN if with_token else None
    results = run_both([proof, proof] if repeat else [proof], access_token=token)
    event(results[-1][0] if results[-1][0] == "ok" else str(results[-1][1]))


# --- the primitives, against their originals ----------------------------------------------------


def _same(call: Callable[[], Any], reference: Callable[[], Any]) -> None:
    def run(fn: Callable[[], Any]) -> tuple[str, str]:
        try:
            return "ok", repr(fn())
        except (ValueError, RecursionError) as exc:
            return type(exc).__name__, ""

    assert run(call) == run(reference)


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(
    value=_JSON_VALUES,
    ensure_ascii=st.booleans(),
    encoding=st.sampled_from(["utf-8", "utf-16", "utf-8-sig"]),
)
@settings(max_examples=400, deadline=None)
def test_json_fast_path_equals_json_loads_on_documents(
    value: Any, ensure_ascii: bool, encoding: str
) -> None:
    data = json.dumps(value, ensure_ascii=ensure_ascii).encode(encoding, "surrogatepass")
    _same(lambda: _json_loads(data), lambda: json.loads(data))


@given(data=st.binary(max_size=64))
@settings(max_examples=400, deadline=None)
@example(data=b'{"a":NaN}')
@example(data=b'{"a":1e400}')
@example(data=b'{"a":"\\ud800"}')
@example(data=b'{"a":"\xed\xa0\x80"}')
@example(data=b'\xef\xbb\xbf{"a":1}')
@example(data=b'{"a":1,"a":2}')
@example(data=b'{"a":-0.0}')
@example(data=b'{"a":01}')
@example(data=b"[" * 300 + b"]" * 300)
@example(data=b"[" * 3000 + b"]" * 3000)
@example(data=b'{"a":' + b"[" * 250 + b"]" * 250 + b"}")
def test_json_fast_path_equals_json_loads_on_bytes(data: bytes) -> None:
    _same(lambda: _json_loads(data), lambda: json.loads(data))


@given(
    data=st.one_of(
        st.binary(max_size=40),
        st.binary(max_size=40).map(lambda b: base64.urlsafe_b64encode(b).rstrip(b"=")),
        st.text(alphabet="ABCabc019-_+/=. \n", max_size=40).map(str.encode),
    )
)
@settings(max_examples=600, deadline=None)
@example(data=b"QR")  # non-canonical: unused bits set
@example(data=b"QQ")
@example(data=b"QUI")
@example(data=b"QUJ")
@example(data=b"QQ==")
@example(data=b"A")
@example(data=b"")
@example(data=b"+/+/")
def test_segment_decoder_equals_the_original(data: bytes) -> None:
    _same(lambda: _segment(data), lambda: ref_segment(data))


_SIGNING_INPUT = b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0"


def _raw_es256(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


_N256 = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _signature_cases() -> list[bytes]:
    good = _raw_es256(P256, _SIGNING_INPUT)
    r, s = int.from_bytes(good[:32], "big"), int.from_bytes(good[32:], "big")
    flipped = bytearray(good)
    flipped[0] ^= 0x80
    return [
        good,
        bytes(flipped),
        good[:63],
        good + b"\x00",
        b"",
        b"\x00" * 64,
        b"\xff" * 64,
        r.to_bytes(32, "big") + (_N256 - s).to_bytes(32, "big"),  # high-S twin
        r.to_bytes(32, "big") + (s + _N256).to_bytes(33, "big")[1:],  # s + n, wrapped
        _N256.to_bytes(32, "big") + good[32:],
        _raw_es256(OTHER_P256, _SIGNING_INPUT),
        good[32:] + good[:32],
        b"\x00" * 96,
    ]


@pytest.mark.parametrize("index", range(len(_signature_cases())))
@pytest.mark.parametrize("alg", ["ES256", "ES384", "EdDSA", "HS256", "none", "PS256"])
def test_es256_fast_check_equals_pyjwt(index: int, alg: str) -> None:
    signature = _signature_cases()[index]
    jws = CompactJWS(header={}, payload=b"", signing_input=_SIGNING_INPUT, signature=signature)
    for key in (P256.public_key(), ec.generate_private_key(ec.SECP384R1()).public_key()):
        results = []
        for check in (
            lambda k=key: ref_verify_signature(jws, alg, k),
            lambda k=key: verify_jws_signature(jws, alg, k),
            lambda k=key: signature_check(alg, k)(_SIGNING_INPUT, signature),
        ):
            try:
                results.append(check())
            except Exception as exc:  # PyJWT's own failure on a mismatched key
                results.append(type(exc))
        assert results[1] == results[0]
        assert results[2] == results[0]


@given(data=st.binary(max_size=200), flip=st.integers(min_value=0, max_value=511))
@settings(max_examples=100, deadline=None)
def test_es256_fast_check_equals_pyjwt_on_generated_messages(data: bytes, flip: int) -> None:
    signature = bytearray(_raw_es256(P256, data))
    jws = CompactJWS(header={}, payload=b"", signing_input=data, signature=bytes(signature))
    assert verify_jws_signature(jws, "ES256", P256.public_key()) is True
    signature[flip // 8] ^= 1 << (flip % 8)
    tampered = CompactJWS(header={}, payload=b"", signing_input=data, signature=bytes(signature))
    assert verify_jws_signature(tampered, "ES256", P256.public_key()) == ref_verify_signature(
        tampered, "ES256", P256.public_key()
    )


def test_rsa_pss_still_goes_through_pyjwt() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sig = key.sign(
        _SIGNING_INPUT,
        padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=hashes.SHA256().digest_size),
        hashes.SHA256(),
    )
    jws = CompactJWS(header={}, payload=b"", signing_input=_SIGNING_INPUT, signature=sig)
    assert verify_jws_signature(jws, "PS256", key.public_key()) is True
    assert ref_verify_signature(jws, "PS256", key.public_key()) is True


@given(token=st.text(max_size=60))
@settings(max_examples=300, deadline=None)
@example(token="a.b.c")
@example(token="eyJhbGciOiJub25lIn0.e30.")
def test_parse_compact_jws_equals_the_original(token: str) -> None:
    def run(fn: Callable[[str], CompactJWS]) -> Any:
        try:
            return fn(token)
        except ValueError:
            return "ValueError"

    assert run(parse_compact_jws) == run(ref_parse)


@given(value=st.one_of(st.uuids().map(str), st.text(max_size=40), st.uuids().map(lambda u: u.hex)))
@settings(max_examples=200, deadline=None)
@example(value="urn:uuid:12345678-1234-5678-1234-567812345678")
@example(value="{12345678-1234-5678-1234-567812345678}")
def test_cached_uuid_parse_equals_uuid(value: str) -> None:
    try:
        want: uuid.UUID | None = uuid.UUID(value)
    except ValueError:
        want = None
    assert resource._uuid(value) == want
    assert resource._uuid(value) == want  # and again, from the cache
    assert resource._uuid(None) is None


def test_access_token_hash_is_unchanged() -> None:
    from puhui.oauth.dpop import access_token_hash

    for token in (TOKEN, "", "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU", "x" * 999):
        assert access_token_hash(token) == ref_access_token_hash(token)


def test_clock_window_edges_agree() -> None:
    """iat exactly on and just past both window edges (max_age 60 s, skew 5 s)."""
    now = NOW.timestamp()
    edges = [now - 60, now - 60.000001, now - 60.0000004, now + 5, now + 5.000001, now + 4.9999996]
    proofs = [compose(good_header(), good_claims(iat=iat)) for iat in edges]
    results = run_both(proofs)
    assert results[0][0] == "ok"
    assert results[1][0] == "InvalidDPoPProof"
