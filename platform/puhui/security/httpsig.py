"""RFC 9421 HTTP Message Signatures: the subset the A2 gateway needs (JR/T 0185-2020 API security).

Requests and responses are signed over derived components and header fields; the
`Signature-Input` / `Signature` headers are RFC 8941 dictionaries, parsed here by a strict
regex-driven parser of the subset RFC 9421 uses (a generic parser costs ~30 µs per header).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import re
import secrets
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, Final, TypeAlias
from urllib.parse import SplitResult, urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from puhui.clock import utcnow

__all__ = [
    "ALGORITHMS",
    "DEFAULT_SKEW_SECONDS",
    "AlgorithmNotAllowed",
    "HttpRequest",
    "HttpResponse",
    "InnerList",
    "Item",
    "SignatureComponentsMissing",
    "SignatureError",
    "SignatureExpired",
    "SignatureHeaders",
    "SignatureInvalid",
    "SignatureKey",
    "SignatureMissing",
    "StructuredFieldError",
    "Token",
    "UnknownKey",
    "VerifiedSignature",
    "parse_dictionary",
    "serialize_dictionary",
    "serialize_item",
    "sign_request",
    "sign_response",
    "signature_base",
    "verify_request",
    "verify_response",
]

DEFAULT_SKEW_SECONDS: Final = 300
ALGORITHMS: Final = frozenset({"ecdsa-p256-sha256", "ed25519", "hmac-sha256", "rsa-pss-sha512"})

# ---------------------------------------------------------------------------------------------
# RFC 8941 structured fields: dictionaries, inner lists, items and parameters.
# ---------------------------------------------------------------------------------------------


class StructuredFieldError(ValueError):
    """A header is not a valid RFC 8941 structured field."""


class Token(str):
    """An sf-token (serialised bare), as opposed to an sf-string (serialised quoted)."""

    __slots__ = ()


BareItem: TypeAlias = "int | Decimal | str | bytes | bool"
Params: TypeAlias = "dict[str, BareItem]"


@dataclass(frozen=True, slots=True)
class Item:
    value: BareItem
    params: Params = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InnerList:
    items: tuple[Item, ...]
    params: Params = field(default_factory=dict)


Member: TypeAlias = "Item | InnerList"

_KEY = re.compile(r"[a-z*][a-z0-9_\-.*]*")
_BARE = re.compile(
    r'"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"'  # 1 string
    r"|(-?\d{1,12}\.\d{1,3})(?![\d.])"  # 2 decimal
    r"|(-?\d{1,15})(?![\d.])"  # 3 integer
    r"|:([A-Za-z0-9+/]*={0,2}):"  # 4 byte sequence
    r"|\?([01])"  # 5 boolean
    r"|([A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*)"  # 6 token
)
_MILLI: Final = Decimal("0.001")
_SIMPLE_INNER: Final = re.compile(r'\( *((?:"[\x20\x21\x23-\x5b\x5d-\x7e]*"(?: +|(?= *\))))*) *\)')
_SIMPLE_STRING: Final = re.compile(r'"([\x20\x21\x23-\x5b\x5d-\x7e]*)"')
_PRINTABLE: Final = re.compile(r"[\x20-\x7e]*")
_UNESCAPE = re.compile(r"\\([\"\\])")
_OWS_COMMA = re.compile(r"[ \t]*,[ \t]*")


def _bare_item(text: str, pos: int) -> tuple[BareItem, int]:
    m = _BARE.match(text, pos)
    if m is None:
        raise StructuredFieldError("invalid bare item")
    kind = m.lastindex
    raw = m.group(kind or 0)
    value: BareItem
    if kind == 1:
        value = _UNESCAPE.sub(r"\1", raw) if "\\" in raw else raw
    elif kind == 2:
        value = Decimal(raw)
    elif kind == 3:
        value = int(raw)
    elif kind == 4:
        try:
            value = base64.b64decode(raw, validate=True)
        except binascii.Error as exc:
            raise StructuredFieldError("invalid byte sequence") from exc
    elif kind == 5:
        value = raw == "1"
    else:
        value = Token(raw)
    return value, m.end()


def _skip_spaces(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] == " ":
        pos += 1
    return pos


def _params(text: str, pos: int) -> tuple[Params, int]:
    params: Params = {}
    n = len(text)
    while pos < n and text[pos] == ";":
        pos = _skip_spaces(text, pos + 1)
        m = _KEY.match(text, pos)
        if m is None:
            raise StructuredFieldError("invalid parameter key")
        pos = m.end()
        value: BareItem = True
        if pos < n and text[pos] == "=":
            value, pos = _bare_item(text, pos + 1)
        params[m.group()] = value
    return params, pos


def _member(text: str, pos: int) -> tuple[Member, int]:
    if pos < len(text) and text[pos] == "(":
        simple = _SIMPLE_INNER.match(text, pos)
        if simple is not None:  # fast path: plain component names, no parameters or escapes
            names = _SIMPLE_STRING.findall(simple.group(1))
            params, pos = _params(text, simple.end())
            return InnerList(tuple([Item(name, {}) for name in names]), params), pos
        pos += 1
        items: list[Item] = []
        n = len(text)
        while True:
            pos = _skip_spaces(text, pos)
            if pos >= n:
                raise StructuredFieldError("unterminated inner list")
            if text[pos] == ")":
                params, pos = _params(text, pos + 1)
                return InnerList(tuple(items), params), pos
            value, pos = _bare_item(text, pos)
            item_params, pos = _params(text, pos)
            items.append(Item(value, item_params))
            if pos < n and text[pos] not in " )":
                raise StructuredFieldError("inner list items must be separated by spaces")
    value, pos = _bare_item(text, pos)
    params, pos = _params(text, pos)
    return Item(value, params), pos


def parse_dictionary(text: str) -> dict[str, Member]:
    """Parse an RFC 8941 dictionary strictly; raises StructuredFieldError on any deviation.

    One byte sequence (Signature, Content-Digest) takes an exact fast path; anything else, valid
    or not, goes to the full parser, which decides. (Signature-Input has its own fast path in
    `_verify`, whose cached items never leave this module.)
    """
    members = _fast_byte_sequence(text)
    return members if members is not None else _parse_generic(text)


def _parse_generic(text: str) -> dict[str, Member]:
    """The full RFC 8941 dictionary parser (the subset RFC 9421 uses)."""
    text = text.strip(" ")
    result: dict[str, Member] = {}
    pos, n = 0, len(text)
    while pos < n:
        m = _KEY.match(text, pos)
        if m is None:
            raise StructuredFieldError("invalid dictionary key")
        pos = m.end()
        member: Member
        if pos < n and text[pos] == "=":
            member, pos = _member(text, pos + 1)
        else:
            params, pos = _params(text, pos)
            member = Item(True, params)
        result[m.group()] = member
        if pos >= n:
            break
        sep = _OWS_COMMA.match(text, pos)
        if sep is None or sep.end() >= n:
            raise StructuredFieldError("invalid dictionary separator")
        pos = sep.end()
    return result


# Fast paths for the shapes of nearly every signed request. Each accepts only the canonical
# serialisation of its shape (no optional spaces, no escapes, no leading zeros, no duplicate
# parameters), builds exactly what `_parse_generic` builds, and returns None for anything else so
# the full parser decides. A differential test (test_httpsig_fastpath.py) holds them to that.

# A plain sf-string: printable ASCII without `"` and `\`, so it needs no escapes.
_PLAIN_STRING: Final = r'"[\x20\x21\x23-\x5b\x5d-\x7e]*"'
_FAST_INNER_LIST: Final = re.compile(
    r"([a-z*][a-z0-9_\-.*]*)=\("  # 1 label
    rf"((?:{_PLAIN_STRING}(?: {_PLAIN_STRING})*)?)\)"  # 2 component names, one space apart
    # 3 parameters: canonical integers (no sign, no leading zero, at most 15 digits) or strings
    rf"((?:;[a-z*][a-z0-9_\-.*]*=(?:0|[1-9][0-9]{{0,14}}|{_PLAIN_STRING}))*)"
)
# Splits parameters already validated by _FAST_INNER_LIST: each `;key=value` unit ends at its
# last digit (before `;` or the end) or its closing quote, so scanning from the start meets
# exactly those units in order.
_FAST_PARAM: Final = re.compile(r';([a-z*][a-z0-9_\-.*]*)=(?:([0-9]+)|"([^"]*)")')
_FAST_NAME: Final = re.compile(r'"([^"]*)"')
_FAST_BYTES: Final = re.compile(r"([a-z*][a-z0-9_\-.*]*)=:([A-Za-z0-9+/]*={0,2}):")
_CACHED_NAMES_MAX_CHARS: Final = 512  # longer component lists are parsed, not cached


def _fast_inner_list(text: str) -> tuple[str, InnerList, str] | None:
    """One `label=("name" ...);param=value...` member, as (label, member, member text).

    The member text is then exactly `serialize_item(member)` (it is canonical), which spares
    serialising `@signature-params` again when the signature base is built.
    """
    m = _FAST_INNER_LIST.fullmatch(text)
    if m is None:
        return None
    label, names, params_text = m.groups()
    params: Params = {}
    for key, digits, string in _FAST_PARAM.findall(params_text):
        if key in params:
            return None  # a repeated parameter: the generic parser's last-wins rule decides
        params[key] = int(digits) if digits else string
    items = _plain_items(names) if len(names) <= _CACHED_NAMES_MAX_CHARS else _items_of(names)
    return label, InnerList(items, params), text[len(label) + 1 :]


def _items_of(names: str) -> tuple[Item, ...]:
    return tuple([Item(name, {}) for name in _FAST_NAME.findall(names)])


# Keyed by the exact text of the component list, which alone determines the items; nothing from
# `created`, `nonce` or the signature is in the key or the value. The items are shared between
# parses, like the results of `_covered`, so they are used only inside `_verify`, which never
# mutates them nor hands them out.
_plain_items: Final = functools.lru_cache(maxsize=256)(_items_of)


def _fast_byte_sequence(text: str) -> dict[str, Member] | None:
    """One `label=:base64:` member without parameters (Signature, Content-Digest)."""
    m = _FAST_BYTES.fullmatch(text)
    if m is None:
        return None
    try:
        # What base64.b64decode(validate=True) does, without its wrapper: the text is ASCII.
        value = binascii.a2b_base64(m.group(2), strict_mode=True)
    except binascii.Error:
        return None  # the generic parser raises its own error for this
    return {m.group(1): Item(value, {})}


def _serialize_bare(value: BareItem) -> str:
    kind = type(value)
    if kind is str:  # the hot path: component names and signature parameters
        text = str(value)
        if _PRINTABLE.fullmatch(text) is None:
            raise StructuredFieldError("sf-string must be printable ASCII")
        if "\\" in text or '"' in text:
            text = text.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{text}"'
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, Token):
        return str(value)
    if isinstance(value, str):
        return _serialize_bare(str(value))
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode("ascii") + ":"
    if isinstance(value, int):
        if abs(value) > 999_999_999_999_999:
            raise StructuredFieldError("integer out of range")
        return str(value)
    rounded = value.quantize(_MILLI, rounding=ROUND_HALF_EVEN)
    whole, _, fraction = format(rounded, "f").partition(".")
    if len(whole.lstrip("-")) > 12:
        raise StructuredFieldError("decimal out of range")
    return f"{whole}.{fraction.rstrip('0') or '0'}"


def _serialize_params(params: Params) -> str:
    if not params:
        return ""
    return "".join(
        f";{key}" if value is True else f";{key}={_serialize_bare(value)}"
        for key, value in params.items()
    )


def serialize_item(member: Member) -> str:
    """Serialise an item or inner list with its parameters (RFC 8941 4.1)."""
    if isinstance(member, InnerList):
        inner = " ".join(serialize_item(item) for item in member.items)
        return f"({inner}){_serialize_params(member.params)}"
    return _serialize_bare(member.value) + _serialize_params(member.params)


def serialize_dictionary(members: Mapping[str, Member]) -> str:
    """Serialise an RFC 8941 dictionary (RFC 8941 4.1.2)."""
    parts = []
    for key, member in members.items():
        if isinstance(member, Item) and member.value is True:
            parts.append(key + _serialize_params(member.params))
        else:
            parts.append(f"{key}={serialize_item(member)}")
    return ", ".join(parts)


# ---------------------------------------------------------------------------------------------
# Errors: messages name what failed, never key material or the expected value.
# ---------------------------------------------------------------------------------------------


class SignatureError(Exception):
    """Base of every HTTP message signature failure."""


class SignatureMissing(SignatureError):
    """The message carries no Signature-Input / Signature (or not the requested label)."""


class SignatureInvalid(SignatureError):
    """The signature is malformed, covers an absent component, or does not verify."""


class SignatureExpired(SignatureError):
    """`created` / `expires` are outside the accepted clock window."""


class SignatureComponentsMissing(SignatureError):
    """No signature covers all the components this API requires."""


class UnknownKey(SignatureError):
    """The resolver knows no key under the signature's keyid."""


class AlgorithmNotAllowed(SignatureError):
    """The key's algorithm is not allowed for this API."""


# ---------------------------------------------------------------------------------------------
# Keys and algorithms (RFC 9421 3.3).
# ---------------------------------------------------------------------------------------------

KeyMaterial: TypeAlias = (
    "ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey"
    " | ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey"
    " | rsa.RSAPrivateKey | rsa.RSAPublicKey | bytes"
)

_JWK_ALG: Final = {
    "ES256": "ecdsa-p256-sha256",
    "EdDSA": "ed25519",
    "Ed25519": "ed25519",
    "HS256": "hmac-sha256",
    "PS512": "rsa-pss-sha512",
}
_PSS_SHA512: Final = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)
_ECDSA_SHA256: Final = ec.ECDSA(hashes.SHA256())  # holds only the hash choice: safe to share
_MIN_HMAC_KEY: Final = 32
_EC_KEYS: Final = (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)
_PRIVATE_KEYS: Final = (ed25519.Ed25519PrivateKey, ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)
_MIN_RSA_BITS: Final = 2048


@dataclass(frozen=True, slots=True)
class SignatureKey:
    """A signing or verification key bound to one RFC 9421 algorithm; repr never shows material."""

    alg: str
    material: KeyMaterial = field(repr=False)
    keyid: str = ""

    def __post_init__(self) -> None:
        m = self.material
        ok = {
            "hmac-sha256": isinstance(m, bytes) and len(m) >= _MIN_HMAC_KEY,
            "ed25519": isinstance(m, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey),
            "ecdsa-p256-sha256": isinstance(m, _EC_KEYS) and isinstance(m.curve, ec.SECP256R1),
            "rsa-pss-sha512": isinstance(m, rsa.RSAPrivateKey | rsa.RSAPublicKey)
            and m.key_size >= _MIN_RSA_BITS,
        }.get(self.alg)
        if ok is None:
            raise ValueError(f"unsupported signature algorithm {self.alg!r}")
        if not ok:
            raise ValueError(f"key material does not fit algorithm {self.alg!r}")

    @classmethod
    def from_jwk(
        cls, jwk: Mapping[str, Any], *, alg: str | None = None, keyid: str | None = None
    ) -> SignatureKey:
        """Load a JWK (EC P-256, OKP Ed25519, RSA, oct) through PyJWT's algorithm classes."""
        from jwt.algorithms import ECAlgorithm, HMACAlgorithm, OKPAlgorithm, RSAAlgorithm

        kty = jwk.get("kty")
        declared = jwk.get("alg")
        if alg is None and declared is not None and declared not in _JWK_ALG:
            raise ValueError("unsupported JWK alg for HTTP message signatures")
        chosen = alg or _JWK_ALG.get(str(declared or ""))
        material: Any
        if kty == "EC":
            material, chosen = ECAlgorithm.from_jwk(dict(jwk)), chosen or "ecdsa-p256-sha256"
        elif kty == "OKP":
            material, chosen = OKPAlgorithm.from_jwk(dict(jwk)), chosen or "ed25519"
        elif kty == "RSA":
            material, chosen = RSAAlgorithm.from_jwk(dict(jwk)), chosen or "rsa-pss-sha512"
        elif kty == "oct":
            material, chosen = HMACAlgorithm.from_jwk(dict(jwk)), chosen or "hmac-sha256"
        else:
            raise ValueError("unsupported JWK key type")
        return cls(chosen, material, keyid if keyid is not None else str(jwk.get("kid", "")))

    def sign(self, base: bytes) -> bytes:
        m = self.material
        if self.alg == "hmac-sha256":
            return hmac.digest(m, base, "sha256")  # type: ignore[arg-type]
        if isinstance(m, ed25519.Ed25519PrivateKey):
            return m.sign(base)
        if isinstance(m, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(m.sign(base, _ECDSA_SHA256))
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")  # RFC 9421 3.3.4: raw r||s
        if isinstance(m, rsa.RSAPrivateKey):
            return m.sign(base, _PSS_SHA512, hashes.SHA512())
        raise TypeError("a public key cannot sign")

    def verify(self, base: bytes, signature: bytes) -> bool:
        m = self.material
        try:
            if self.alg == "hmac-sha256":
                return hmac.compare_digest(hmac.digest(m, base, "sha256"), signature)  # type: ignore[arg-type]
            if isinstance(m, _PRIVATE_KEYS):
                m = m.public_key()
            if isinstance(m, ed25519.Ed25519PublicKey):
                m.verify(signature, base)
            elif isinstance(m, ec.EllipticCurvePublicKey):
                if len(signature) != 64:
                    return False
                der = encode_dss_signature(
                    int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
                )
                m.verify(der, base, _ECDSA_SHA256)
            elif isinstance(m, rsa.RSAPublicKey):
                m.verify(signature, base, _PSS_SHA512, hashes.SHA512())
            else:
                return False
        except (InvalidSignature, ValueError):
            return False
        return True


KeyResolver: TypeAlias = Callable[[str], SignatureKey | None]

# ---------------------------------------------------------------------------------------------
# Messages and the signature base (RFC 9421 2).
# ---------------------------------------------------------------------------------------------


def _lower_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """A request as the signer saw it: method, absolute target URI, combined header values."""

    method: str
    url: str
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A response: status and combined header values."""

    status: int
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class SignatureHeaders:
    """The two header values a signer adds (append with ", " when others exist)."""

    signature_input: str
    signature: str


@dataclass(frozen=True, slots=True)
class VerifiedSignature:
    """What a verified signature proves: who signed, when, and over which components."""

    label: str
    keyid: str
    alg: str
    created: datetime
    expires: datetime | None
    nonce: str | None
    tag: str | None
    covered_components: tuple[str, ...]
    signature: bytes = field(repr=False)


_DEFAULT_PORTS: Final = {"http": 80, "https": 443}


class _View:
    """One message's component values, computed lazily once (RFC 9421 2.1, 2.2)."""

    __slots__ = ("_parts", "headers", "method", "status", "url")

    def __init__(
        self, *, method: str | None, url: str | None, status: int | None, headers: Mapping[str, str]
    ) -> None:
        self.method = method
        self.url = url
        self.status = status
        self.headers = _lower_headers(headers)
        self._parts: SplitResult | None = None

    def _split(self) -> SplitResult:
        if self._parts is None:
            if self.url is None:
                raise SignatureInvalid("request-derived component on a response")
            self._parts = urlsplit(self.url)
        return self._parts

    def derived(self, name: str) -> str:
        if name == "@status":
            if self.status is None:
                raise SignatureInvalid("@status on a request")
            return f"{self.status:03d}"
        if name == "@method":
            if self.method is None:
                raise SignatureInvalid("@method on a response")
            return self.method
        if name == "@target-uri":
            if self.url is None:
                raise SignatureInvalid("request-derived component on a response")
            return self.url
        parts = self._split()
        if name == "@authority":
            host = (parts.hostname or "").lower()
            if ":" in host:
                host = f"[{host}]"
            try:
                port = parts.port
            except ValueError as exc:
                raise SignatureInvalid("target URI has an invalid port") from exc
            if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
                host = f"{host}:{port}"
            return host
        if name == "@scheme":
            return str(parts.scheme).lower()
        if name == "@path":
            return str(parts.path) or "/"
        if name == "@query":
            return "?" + str(parts.query)
        raise SignatureInvalid("unsupported derived component")

    def component(self, item: Item) -> str:
        name = item.value
        if not isinstance(name, str) or isinstance(name, Token):
            raise SignatureInvalid("component identifiers must be strings")
        params = item.params
        if name.startswith("@"):
            if params:
                raise SignatureInvalid("unsupported component parameter")
            return self.derived(name)
        if name != name.lower():
            raise SignatureInvalid("header component names must be lowercase")
        raw = self.headers.get(name)
        if raw is None:
            raise SignatureInvalid("a covered component is absent from the message")
        if not params:
            return raw.strip(" \t")
        if set(params) != {"key"} or not isinstance(params["key"], str):
            raise SignatureInvalid("unsupported component parameter")
        try:
            member = parse_dictionary(raw).get(str(params["key"]))
        except StructuredFieldError as exc:
            raise SignatureInvalid("a covered dictionary field is malformed") from exc
        if member is None:
            raise SignatureInvalid("a covered dictionary member is absent from the message")
        return serialize_item(member)


def _base(
    covered: Sequence[Item],
    idents: Sequence[str],
    view: _View,
    request_view: _View | None,
    params_line: str,
) -> bytes:
    lines = []
    seen: set[str] = set()
    for item, ident in zip(covered, idents, strict=True):
        if ident in seen:
            raise SignatureInvalid("a component is covered twice")
        seen.add(ident)
        source = view
        if "req" in item.params:
            if item.params["req"] is not True or request_view is None:
                raise SignatureInvalid("`req` component without the originating request")
            source = request_view
            item = Item(item.value, {k: v for k, v in item.params.items() if k != "req"})
        value = source.component(item)
        if "\n" in value or "\r" in value:
            raise SignatureInvalid("component values must not contain line breaks")
        lines.append(f"{ident}: {value}")
    lines.append(f'"@signature-params": {params_line}')
    return "\n".join(lines).encode("utf-8")


def signature_base(
    message: HttpRequest | HttpResponse,
    signature_params: InnerList,
    *,
    request: HttpRequest | None = None,
) -> bytes:
    """The exact bytes that are signed (RFC 9421 2.5); exposed for diagnostics and tests."""
    view = _view(message)
    return _base(
        signature_params.items,
        [serialize_item(item) for item in signature_params.items],
        view,
        _view(request) if request is not None else None,
        serialize_item(signature_params),
    )


def _view(message: HttpRequest | HttpResponse) -> _View:
    if isinstance(message, HttpRequest):
        return _View(method=message.method, url=message.url, status=None, headers=message.headers)
    return _View(method=None, url=None, status=message.status, headers=message.headers)


# ---------------------------------------------------------------------------------------------
# Signing and verification (RFC 9421 3.1, 3.2).
# ---------------------------------------------------------------------------------------------


def _components(names: Sequence[str]) -> tuple[Item, ...]:
    return _covered(tuple(names))[0]


@functools.lru_cache(maxsize=256)  # signers cover the same few component lists every time
def _covered(names: tuple[str, ...]) -> tuple[tuple[Item, ...], tuple[str, ...]]:
    """Component items for `names` and their serialised identifiers."""
    items = []
    for name in names:
        parsed = parse_dictionary(f"c=({name})")["c"] if name.startswith('"') else None
        if isinstance(parsed, InnerList) and len(parsed.items) == 1:
            items.append(parsed.items[0])
        else:
            items.append(Item(name))
    return tuple(items), tuple(serialize_item(item) for item in items)


def _identifier(item: Item) -> str:
    """The serialised component identifier; plain names (the usual case) from a cache."""
    if not item.params and type(item.value) is str:
        return _plain_identifier(item.value)
    return serialize_item(item)


@functools.lru_cache(maxsize=512)
def _plain_identifier(name: str) -> str:
    return _serialize_bare(name)


def _sign(
    message: HttpRequest | HttpResponse,
    key: SignatureKey,
    *,
    components: Sequence[str],
    label: str,
    created: datetime | None,
    expires_in: int | None,
    nonce: str | None,
    tag: str | None,
    include_alg: bool,
    request: HttpRequest | None,
) -> SignatureHeaders:
    if _KEY.fullmatch(label) is None:
        raise ValueError("signature label must be an RFC 8941 key")
    created_at = int((created or utcnow()).timestamp())
    params: Params = {"created": created_at}
    if expires_in is not None:
        params["expires"] = created_at + expires_in
    if nonce:
        params["nonce"] = nonce
    if key.keyid:
        params["keyid"] = key.keyid
    if include_alg:
        params["alg"] = key.alg
    if tag is not None:
        params["tag"] = tag
    items, idents = _covered(tuple(components))
    params_line = f"({' '.join(idents)}){_serialize_params(params)}"
    base = _base(
        items,
        idents,
        _view(message),
        _view(request) if request is not None else None,
        params_line,
    )
    signature = key.sign(base)
    return SignatureHeaders(
        signature_input=f"{label}={params_line}",
        signature=f"{label}={_serialize_bare(signature)}",
    )


def sign_request(
    request: HttpRequest,
    key: SignatureKey,
    *,
    components: Sequence[str] = ("@method", "@target-uri", "content-digest", "content-type"),
    label: str = "sig1",
    created: datetime | None = None,
    expires_in: int | None = None,
    nonce: str | None = None,
    tag: str | None = None,
    include_alg: bool = False,
) -> SignatureHeaders:
    """Sign a request; a fresh 128-bit nonce is added unless one is given ("" omits it)."""
    return _sign(
        request,
        key,
        components=components,
        label=label,
        created=created,
        expires_in=expires_in,
        nonce=nonce if nonce is not None else secrets.token_urlsafe(16),
        tag=tag,
        include_alg=include_alg,
        request=None,
    )


def sign_response(
    response: HttpResponse,
    key: SignatureKey,
    *,
    request: HttpRequest | None = None,
    request_label: str | None = None,
    components: Sequence[str] = ("@status", "content-digest", "content-type"),
    label: str = "sig1",
    created: datetime | None = None,
    tag: str | None = None,
    include_alg: bool = False,
) -> SignatureHeaders:
    """Sign a response; `request_label` also covers the request's signature (RFC 9421 2.4)."""
    names = list(components)
    if request_label is not None:
        if request is None:
            raise ValueError("request_label needs the request")
        names.append(f'"signature";req;key={_serialize_bare(request_label)}')
    return _sign(
        response,
        key,
        components=names,
        label=label,
        created=created,
        expires_in=None,
        nonce=None,
        tag=tag,
        include_alg=include_alg,
        request=request,
    )


def _verify(
    message: HttpRequest | HttpResponse,
    *,
    resolve_key: KeyResolver,
    required: Collection[str],
    allowed_algorithms: Collection[str],
    skew_seconds: int,
    label: str | None,
    require_nonce: bool,
    expected_tag: str | None,
    request: HttpRequest | None,
) -> VerifiedSignature:
    view = _view(message)
    raw_input = view.headers.get("signature-input")
    raw_signature = view.headers.get("signature")
    if not raw_input or not raw_signature:
        raise SignatureMissing("no Signature-Input / Signature header")
    # The usual single signature takes the fast path, whose member text is also the canonical
    # `@signature-params` value; anything else goes to the full parser.
    fast_input = _fast_inner_list(raw_input)
    try:
        if fast_input is not None:
            inputs: dict[str, Member] = {fast_input[0]: fast_input[1]}
        else:
            inputs = _parse_generic(raw_input)
        signatures = parse_dictionary(raw_signature)
    except StructuredFieldError as exc:
        raise SignatureInvalid("malformed signature header") from exc

    if label is not None:
        if label not in inputs:
            raise SignatureMissing("no signature with the requested label")
        candidates = [label]
    else:
        candidates = list(inputs)
    wanted = [_quote(r) for r in required]
    chosen: tuple[str, InnerList, list[str]] | None = None
    for name in candidates:
        member = inputs[name]
        if not isinstance(member, InnerList):
            raise SignatureInvalid("malformed Signature-Input member")
        idents = [_identifier(item) for item in member.items]
        if all(w in idents for w in wanted):
            chosen = (name, member, idents)
            break
    if chosen is None:
        raise SignatureComponentsMissing("no signature covers all required components")
    name, sig_params, idents = chosen

    signature_member = signatures.get(name)
    if not isinstance(signature_member, Item) or not isinstance(signature_member.value, bytes):
        raise SignatureInvalid("Signature value missing or not a byte sequence")

    params = sig_params.params
    created, expires = params.get("created"), params.get("expires")
    if type(created) is not int:
        raise SignatureInvalid("`created` parameter missing or not an integer")
    if expires is not None and type(expires) is not int:
        raise SignatureInvalid("`expires` parameter is not an integer")
    nonce, keyid, alg, tag = (
        params.get("nonce"),
        params.get("keyid"),
        params.get("alg"),
        params.get("tag"),
    )
    for value in (nonce, keyid, alg, tag):
        if value is not None and (not isinstance(value, str) or isinstance(value, Token)):
            raise SignatureInvalid("signature parameter of the wrong type")
    now = int(utcnow().timestamp())
    if abs(now - created) > skew_seconds:  # JR/T 0185: bounded validity window (anti-replay)
        raise SignatureExpired("`created` outside the accepted clock window")
    if expires is not None and now > expires:  # the signer chose this bound: no extra grace
        raise SignatureExpired("signature has expired")
    if require_nonce and not nonce:
        raise SignatureInvalid("`nonce` parameter required")
    if expected_tag is not None and tag != expected_tag:
        raise SignatureInvalid("`tag` parameter does not match this application")
    if not keyid:
        raise SignatureInvalid("`keyid` parameter required")

    key = resolve_key(str(keyid))
    if key is None:
        raise UnknownKey("no key registered under this keyid")
    if key.alg not in allowed_algorithms:
        raise AlgorithmNotAllowed("the key's algorithm is not allowed for this API")
    if alg is not None and alg != key.alg:  # RFC 9421 3.2 step 6: alg must agree with the key
        raise SignatureInvalid("`alg` parameter does not match the key")

    if fast_input is not None and sig_params is fast_input[1]:
        params_line = fast_input[2]  # canonical: equal to serialising it again
    else:
        params_line = f"({' '.join(idents)}){_serialize_params(params)}"
    base = _base(
        sig_params.items,
        idents,
        view,
        _view(request) if request is not None else None,
        params_line,
    )
    if not key.verify(base, signature_member.value):
        raise SignatureInvalid("signature does not verify")
    return VerifiedSignature(
        label=name,
        keyid=str(keyid),
        alg=key.alg,
        created=datetime.fromtimestamp(created, UTC),
        expires=datetime.fromtimestamp(expires, UTC) if expires is not None else None,
        nonce=None if nonce is None else str(nonce),
        tag=None if tag is None else str(tag),
        covered_components=tuple(idents),
        signature=signature_member.value,
    )


def _quote(name: str) -> str:
    return name if name.startswith('"') else f'"{name}"'


def verify_request(
    request: HttpRequest,
    *,
    resolve_key: KeyResolver,
    required_components: Collection[str] = ("@method", "@target-uri", "content-digest"),
    allowed_algorithms: Collection[str] = ALGORITHMS,
    skew_seconds: int = DEFAULT_SKEW_SECONDS,
    label: str | None = None,
    require_nonce: bool = True,
    expected_tag: str | None = None,
) -> VerifiedSignature:
    """Verify a request signature; the caller then spends its nonce in a NonceStore (anti-replay).

    `resolve_key` is synchronous (a lookup in the client-key cache). Without `label`, the first
    signature covering every required component is verified.
    """
    return _verify(
        request,
        resolve_key=resolve_key,
        required=required_components,
        allowed_algorithms=allowed_algorithms,
        skew_seconds=skew_seconds,
        label=label,
        require_nonce=require_nonce,
        expected_tag=expected_tag,
        request=None,
    )


def verify_response(
    response: HttpResponse,
    *,
    resolve_key: KeyResolver,
    request: HttpRequest | None = None,
    required_components: Collection[str] = ("@status", "content-digest", "content-type"),
    allowed_algorithms: Collection[str] = ALGORITHMS,
    skew_seconds: int = DEFAULT_SKEW_SECONDS,
    label: str | None = None,
    expected_tag: str | None = None,
) -> VerifiedSignature:
    """Verify a response signature; pass `request` when it covers `;req` components."""
    return _verify(
        response,
        resolve_key=resolve_key,
        required=required_components,
        allowed_algorithms=allowed_algorithms,
        skew_seconds=skew_seconds,
        label=label,
        require_nonce=False,
        expected_tag=expected_tag,
        request=request,
    )
