"""RFC 9421 message signatures: appendix B vectors, round trips, tampering and policy errors."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from hypothesis import given, settings
from hypothesis import strategies as st
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from puhui.clock import FrozenClock
from puhui.security.digest import content_digest
from puhui.security.httpsig import (
    AlgorithmNotAllowed,
    HttpRequest,
    HttpResponse,
    InnerList,
    Item,
    SignatureComponentsMissing,
    SignatureError,
    SignatureExpired,
    SignatureInvalid,
    SignatureKey,
    SignatureMissing,
    UnknownKey,
    parse_dictionary,
    sign_request,
    sign_response,
    signature_base,
    verify_request,
    verify_response,
)

# --- RFC 9421 Appendix B test material -----------------------------------------------------

RFC_SHARED_SECRET = base64.b64decode(
    "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ=="
)
RFC_ED25519_PEM = b"""-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF
-----END PRIVATE KEY-----
"""
RFC_P256_PEM = b"""-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIFKbhfNZfpDsW43+0+JjUr9K+bTeuxopu653+hBaXGA7oAoGCCqGSM49
AwEHoUQDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lfw0EkjqF7xB4FivAxzic30tMM
4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==
-----END EC PRIVATE KEY-----
"""
RFC_CREATED = datetime.fromtimestamp(1618884473, UTC)

RFC_REQUEST = HttpRequest(
    "POST",
    "https://example.com/foo?param=Value&Pet=dog",
    {
        "Host": "example.com",
        "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
        "Content-Type": "application/json",
        "Content-Digest": "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+"
        "AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
        "Content-Length": "18",
    },
)
RFC_RESPONSE = HttpResponse(
    200,
    {
        "Date": "Tue, 20 Apr 2021 02:07:56 GMT",
        "Content-Type": "application/json",
        "Content-Digest": "sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4G"
        "TsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:",
        "Content-Length": "23",
    },
)


@pytest.fixture
def rfc_clock(frozen_clock: FrozenClock) -> FrozenClock:
    frozen_clock.advance(RFC_CREATED - frozen_clock.now())
    return frozen_clock


def _with(message: HttpRequest, **extra: str) -> HttpRequest:
    return HttpRequest(message.method, message.url, {**message.headers, **extra})


def test_rfc9421_b25_hmac_signature_base_and_value_match_the_rfc() -> None:
    params = parse_dictionary(
        'sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret"'
    )["sig-b25"]
    assert isinstance(params, InnerList)
    base = signature_base(RFC_REQUEST, params)
    assert base.decode() == (
        '"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
        '"@authority": example.com\n'
        '"content-type": application/json\n'
        '"@signature-params": ("date" "@authority" "content-type")'
        ';created=1618884473;keyid="test-shared-secret"'
    )
    key = SignatureKey("hmac-sha256", RFC_SHARED_SECRET, "test-shared-secret")
    assert base64.b64encode(key.sign(base)) == b"pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8="


def test_rfc9421_b26_ed25519_signature_is_reproduced_byte_for_byte(rfc_clock: FrozenClock) -> None:
    private = load_pem_private_key(RFC_ED25519_PEM, None)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    key = SignatureKey("ed25519", private, "test-key-ed25519")
    headers = sign_request(
        RFC_REQUEST,
        key,
        components=("date", "@method", "@path", "@authority", "content-type", "content-length"),
        label="sig-b26",
        nonce="",
    )
    assert headers.signature_input == (
        'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length")'
        ';created=1618884473;keyid="test-key-ed25519"'
    )
    assert headers.signature == (
        "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpB"
        "KRCw==:"
    )
    signed = _with(
        RFC_REQUEST,
        **{"Signature-Input": headers.signature_input, "Signature": headers.signature},
    )
    verified = verify_request(
        signed,
        resolve_key={"test-key-ed25519": key}.get,
        required_components=("@method", "@authority"),
        require_nonce=False,
    )
    assert verified.nonce is None


def test_rfc9421_b24_ecdsa_response_signature_verifies(rfc_clock: FrozenClock) -> None:
    private = load_pem_private_key(RFC_P256_PEM, None)
    assert isinstance(private, ec.EllipticCurvePrivateKey)
    key = SignatureKey("ecdsa-p256-sha256", private)
    response = HttpResponse(
        RFC_RESPONSE.status,
        {
            **RFC_RESPONSE.headers,
            "Signature-Input": 'sig-b24=("@status" "content-type" "content-digest" '
            '"content-length");created=1618884473;keyid="test-key-ecc-p256"',
            "Signature": "sig-b24=:wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NKocgPquLgyahnzDnD"
            "AUy5eCdlYUEkLIj+32oiasw==:",
        },
    )
    verified = verify_response(response, resolve_key={"test-key-ecc-p256": key}.get)
    assert verified.keyid == "test-key-ecc-p256"
    assert verified.covered_components == (
        '"@status"',
        '"content-type"',
        '"content-digest"',
        '"content-length"',
    )
    tampered = HttpResponse(201, response.headers)
    with pytest.raises(SignatureInvalid):
        verify_response(tampered, resolve_key={"test-key-ecc-p256": key}.get)


def test_derived_components_follow_rfc9421_2_2() -> None:
    request = HttpRequest("GET", "HTTPS://API.Bank.example:443/v1/loans?a=1&b=%20x", {})
    params = parse_dictionary(
        'x=("@method" "@target-uri" "@authority" "@scheme" "@path" "@query");created=1'
    )["x"]
    assert isinstance(params, InnerList)
    lines = signature_base(request, params).decode().splitlines()
    assert lines[:6] == [
        '"@method": GET',
        '"@target-uri": HTTPS://API.Bank.example:443/v1/loans?a=1&b=%20x',
        '"@authority": api.bank.example',
        '"@scheme": https',
        '"@path": /v1/loans',
        '"@query": ?a=1&b=%20x',
    ]
    no_query = HttpRequest("GET", "http://h.example:8080", {})
    params = parse_dictionary('x=("@authority" "@path" "@query")')["x"]
    assert isinstance(params, InnerList)
    assert signature_base(no_query, params).decode().splitlines()[:3] == [
        '"@authority": h.example:8080',
        '"@path": /',
        '"@query": ?',
    ]


# --- Round trips with all algorithms -------------------------------------------------------


def _keys() -> dict[str, SignatureKey]:
    return {
        "hmac-sha256": SignatureKey("hmac-sha256", b"k" * 32, "client-hmac"),
        "ed25519": SignatureKey("ed25519", ed25519.Ed25519PrivateKey.generate(), "client-ed"),
        "ecdsa-p256-sha256": SignatureKey(
            "ecdsa-p256-sha256", ec.generate_private_key(ec.SECP256R1()), "client-ec"
        ),
        "rsa-pss-sha512": SignatureKey(
            "rsa-pss-sha512",
            rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "client-rsa",
        ),
    }


KEYS = _keys()
BODY = b'{"amount": 500000, "term_months": 12}'


def _request(body: bytes = BODY) -> HttpRequest:
    return HttpRequest(
        "POST",
        "https://open.bank.example/v1/loan-applications?channel=app",
        {"Content-Type": "application/json", "Content-Digest": content_digest(body)},
    )


def _public(key: SignatureKey) -> SignatureKey:
    material: Any = key.material
    if not isinstance(material, bytes):
        material = material.public_key()
    return SignatureKey(key.alg, material, key.keyid)


def _signed(key: SignatureKey, request: HttpRequest | None = None, **kwargs: Any) -> HttpRequest:
    request = request or _request()
    headers = sign_request(request, key, **kwargs)
    return _with(
        request, **{"Signature-Input": headers.signature_input, "Signature": headers.signature}
    )


def _signature_bytes(signed: HttpRequest) -> bytes:
    member = parse_dictionary(signed.headers["Signature"])["sig1"]
    assert isinstance(member, Item)
    assert isinstance(member.value, bytes)
    return member.value


@pytest.mark.parametrize("alg", sorted(KEYS))
def test_each_algorithm_round_trips_with_the_public_key_only(
    alg: str, frozen_clock: FrozenClock
) -> None:
    key = KEYS[alg]
    signed = _signed(key)
    verified = verify_request(signed, resolve_key={key.keyid: _public(key)}.get)
    assert (verified.keyid, verified.alg) == (key.keyid, alg)
    assert verified.created == frozen_clock.now().replace(microsecond=0)
    assert verified.nonce
    assert len(verified.nonce) >= 16
    assert '"content-digest"' in verified.covered_components


def test_ecdsa_signature_is_raw_r_and_s(frozen_clock: FrozenClock) -> None:
    signed = _signed(KEYS["ecdsa-p256-sha256"])
    assert len(_signature_bytes(signed)) == 64


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_single_byte_tamper_of_a_covered_part_is_rejected(data: st.DataObject) -> None:
    clock = FrozenClock(datetime(2026, 3, 14, tzinfo=UTC))
    from puhui.clock import set_clock

    previous = set_clock(clock)
    try:
        key = KEYS[data.draw(st.sampled_from(["hmac-sha256", "ed25519"]))]
        signed = _signed(key)
        resolver = {key.keyid: key}.get
        verify_request(signed, resolve_key=resolver)
        part = data.draw(
            st.sampled_from(["method", "url", "content-type", "content-digest", "signature-input"])
        )
        headers = dict(signed.headers)
        method, url = signed.method, signed.url
        if part == "method":
            original = method
        elif part == "url":
            original = url
        else:
            name = {"signature-input": "Signature-Input"}.get(part, part.title())
            original = headers[name]
        index = data.draw(st.integers(0, len(original) - 1))
        replacement = data.draw(
            st.characters(min_codepoint=0x21, max_codepoint=0x7E).filter(
                lambda ch: ch != original[index]
            )
        )
        changed = original[:index] + replacement + original[index + 1 :]
        if part == "method":
            method = changed
        elif part == "url":
            url = changed
        else:
            headers[name] = changed
        with pytest.raises(SignatureError):
            verify_request(HttpRequest(method, url, headers), resolve_key=resolver)
    finally:
        set_clock(previous)


@pytest.mark.parametrize("alg", sorted(KEYS))
def test_tampered_signature_bytes_are_rejected(alg: str, frozen_clock: FrozenClock) -> None:
    key = KEYS[alg]
    signed = _signed(key)
    value = _signature_bytes(signed)
    flipped = bytes([value[0] ^ 1]) + value[1:]
    forged = _with(signed, Signature="sig1=:" + base64.b64encode(flipped).decode() + ":")
    with pytest.raises(SignatureInvalid, match="does not verify"):
        verify_request(forged, resolve_key={key.keyid: key}.get)


# --- Policy errors ---------------------------------------------------------------------------

HMAC = KEYS["hmac-sha256"]
RESOLVE = {HMAC.keyid: HMAC}.get


def test_unsigned_request_is_signature_missing(frozen_clock: FrozenClock) -> None:
    with pytest.raises(SignatureMissing):
        verify_request(_request(), resolve_key=RESOLVE)


def test_old_and_future_signatures_are_expired(frozen_clock: FrozenClock) -> None:
    signed = _signed(HMAC)
    frozen_clock.advance(timedelta(seconds=301))
    with pytest.raises(SignatureExpired):
        verify_request(signed, resolve_key=RESOLVE)
    future = _signed(HMAC, created=frozen_clock.now() + timedelta(seconds=301))
    with pytest.raises(SignatureExpired):
        verify_request(future, resolve_key=RESOLVE)
    frozen_clock.advance(timedelta(seconds=-2))
    assert verify_request(signed, resolve_key=RESOLVE, skew_seconds=300).keyid == HMAC.keyid


def test_expires_parameter_is_enforced(frozen_clock: FrozenClock) -> None:
    signed = _signed(HMAC, expires_in=10)
    verify_request(signed, resolve_key=RESOLVE, skew_seconds=0)
    frozen_clock.advance(timedelta(seconds=11))
    with pytest.raises(SignatureExpired):
        verify_request(signed, resolve_key=RESOLVE, skew_seconds=600)


def test_signature_not_covering_required_components_is_refused(frozen_clock: FrozenClock) -> None:
    signed = _signed(HMAC, components=("@method", "@target-uri"))
    with pytest.raises(SignatureComponentsMissing):
        verify_request(signed, resolve_key=RESOLVE)


def test_unknown_key_and_disallowed_algorithm(frozen_clock: FrozenClock) -> None:
    signed = _signed(HMAC)
    with pytest.raises(UnknownKey):
        verify_request(signed, resolve_key=lambda _keyid: None)
    with pytest.raises(AlgorithmNotAllowed):
        verify_request(signed, resolve_key=RESOLVE, allowed_algorithms={"ed25519"})


def test_alg_parameter_must_agree_with_the_key(frozen_clock: FrozenClock) -> None:
    signed = _signed(HMAC, include_alg=True)
    assert 'alg="hmac-sha256"' in signed.headers["Signature-Input"]
    verify_request(signed, resolve_key=RESOLVE)
    lying = _with(
        signed,
        **{"Signature-Input": signed.headers["Signature-Input"].replace("hmac-sha256", "ed25519")},
    )
    with pytest.raises(SignatureInvalid):
        verify_request(lying, resolve_key=RESOLVE)


def test_nonce_and_tag_requirements(frozen_clock: FrozenClock) -> None:
    without_nonce = _signed(HMAC, nonce="")
    with pytest.raises(SignatureInvalid, match="nonce"):
        verify_request(without_nonce, resolve_key=RESOLVE)
    tagged = _signed(HMAC, tag="puhui-a2")
    assert verify_request(tagged, resolve_key=RESOLVE, expected_tag="puhui-a2").tag == "puhui-a2"
    with pytest.raises(SignatureInvalid, match="tag"):
        verify_request(tagged, resolve_key=RESOLVE, expected_tag="other-app")


def test_covered_header_absent_from_message_is_invalid(frozen_clock: FrozenClock) -> None:
    signed = _signed(HMAC)
    headers = {k: v for k, v in signed.headers.items() if k != "Content-Type"}
    with pytest.raises(SignatureInvalid, match="absent"):
        verify_request(HttpRequest(signed.method, signed.url, headers), resolve_key=RESOLVE)


def test_error_messages_never_contain_key_material_or_expected_values(
    frozen_clock: FrozenClock,
) -> None:
    secret = b"S3cr3t-key-material-0123456789-abcdef"
    key = SignatureKey("hmac-sha256", secret, "leaky")
    signed = _signed(key)
    forged = _with(signed, Signature="sig1=:" + base64.b64encode(b"x" * 32).decode() + ":")
    with pytest.raises(SignatureInvalid) as caught:
        verify_request(forged, resolve_key={"leaky": key}.get)
    rendered = str(caught.value) + repr(caught.value) + repr(key)
    real = _signature_bytes(signed)
    for secretish in (secret.decode(), base64.b64encode(secret).decode(), real.hex()):
        assert secretish not in rendered
    assert base64.b64encode(real).decode() not in rendered


def test_multiple_signatures_pick_the_one_covering_requirements(frozen_clock: FrozenClock) -> None:
    request = _request()
    weak = sign_request(request, HMAC, components=("@method",), label="weak")
    strong = sign_request(request, HMAC, label="strong")
    both = _with(
        request,
        **{
            "Signature-Input": f"{weak.signature_input}, {strong.signature_input}",
            "Signature": f"{weak.signature}, {strong.signature}",
        },
    )
    assert verify_request(both, resolve_key=RESOLVE).label == "strong"
    with pytest.raises(SignatureMissing):
        verify_request(both, resolve_key=RESOLVE, label="absent")


# --- Responses ---------------------------------------------------------------------------


def test_response_signature_binds_the_request_signature(frozen_clock: FrozenClock) -> None:
    client, bank = KEYS["ed25519"], KEYS["ecdsa-p256-sha256"]
    request = _signed(client)
    body = b'{"application_id": "LA-1"}'
    response = HttpResponse(
        201, {"Content-Type": "application/json", "Content-Digest": content_digest(body)}
    )
    headers = sign_response(response, bank, request=request, request_label="sig1")
    assert '"signature";req;key="sig1"' in headers.signature_input
    signed = HttpResponse(
        201,
        {
            **response.headers,
            "Signature-Input": headers.signature_input,
            "Signature": headers.signature,
        },
    )
    resolve = {bank.keyid: _public(bank)}.get
    verified = verify_response(signed, resolve_key=resolve, request=request)
    assert '"signature";req;key="sig1"' in verified.covered_components
    other_request = _signed(client)  # a different request signature (fresh nonce)
    with pytest.raises(SignatureInvalid):
        verify_response(signed, resolve_key=resolve, request=other_request)
    with pytest.raises(SignatureInvalid):
        verify_response(signed, resolve_key=resolve)


# --- Keys ----------------------------------------------------------------------------------


def test_keys_load_from_jwk() -> None:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ed_key = ed25519.Ed25519PrivateKey.generate()
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks: list[dict[str, Any]] = [
        {**ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True), "kid": "e"},
        {**OKPAlgorithm.to_jwk(ed_key.public_key(), as_dict=True), "kid": "o"},
        {**RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True), "kid": "r", "alg": "PS512"},
        {"kty": "oct", "k": base64.urlsafe_b64encode(b"z" * 32).decode().rstrip("="), "kid": "h"},
    ]
    loaded = [SignatureKey.from_jwk(jwk) for jwk in jwks]
    assert [(k.keyid, k.alg) for k in loaded] == [
        ("e", "ecdsa-p256-sha256"),
        ("o", "ed25519"),
        ("r", "rsa-pss-sha512"),
        ("h", "hmac-sha256"),
    ]
    with pytest.raises(ValueError, match="unsupported JWK"):
        SignatureKey.from_jwk({"kty": "XYZ"})
    with pytest.raises(ValueError, match="unsupported JWK alg"):
        SignatureKey.from_jwk({**jwks[2], "alg": "RS256"})  # PKCS#1 v1.5 is not offered


def test_weak_or_mismatched_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="does not fit"):
        SignatureKey("hmac-sha256", b"short")
    with pytest.raises(ValueError, match="does not fit"):
        SignatureKey("ecdsa-p256-sha256", ec.generate_private_key(ec.SECP384R1()))
    with pytest.raises(ValueError, match="unsupported"):
        SignatureKey("rsa-v1_5-sha256", b"k" * 32)
