"""Step 12, response signature: A2 responses to clients are signed (RFC 9421) with the bank's
response-signing key, covering status, content digest, content type and the request's signature,
so the partner holds non-repudiable evidence of what the bank answered (JR/T 0185-2020).

The signature base is always the same shape, so it is assembled here from strings prepared once
per signing key and request label (`_fast_headers`) instead of through the generic RFC 9421
signer, which parses component names, builds message views and re-parses the request's
Signature header on every call. Anything outside the usual shape goes to the generic signer
(`_generic_headers`); tests check that both produce the same base and headers.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from puhui.clock import utcnow
from puhui.oauth.keys import KeyRing, Keyset
from puhui.security.digest import content_digest
from puhui.security.httpsig import (
    HttpRequest,
    HttpResponse,
    InnerList,
    Item,
    SignatureKey,
    StructuredFieldError,
    VerifiedSignature,
    serialize_item,
)
from puhui.security.httpsig import (
    sign_response as sign_message,
)

__all__ = ["sign_response"]

_ALG: Final = {"ES256": "ecdsa-p256-sha256", "EdDSA": "ed25519", "PS512": "rsa-pss-sha512"}
_LABEL: Final = "bank"
_WITH_TYPE: Final = ("@status", "content-digest", "content-type")
_WITHOUT_TYPE: Final = ("@status", "content-digest")
_MAX_SF_INTEGER: Final = 999_999_999_999_999
_MAX_LAYOUTS: Final = 64  # request labels are chosen by clients: keep the layout cache bounded


@dataclass(frozen=True, slots=True)
class _Signer:
    """The active response key of one keyset, and its serialised `;keyid=...` parameter."""

    keyset: Keyset  # held so the identity check in `_signer` cannot match a recycled object
    key: SignatureKey
    keyid_param: str


@dataclass(frozen=True, slots=True)
class _Layout:
    """The fixed text of a signature base for one request label and content-type presence."""

    status_line: str  # '"@status": '
    digest_line: str  # '\n"content-digest": '
    type_line: str  # '\n"content-type": ' or ""
    request_line: str  # '\n"signature";req;key="sig1": '
    params_head: str  # '\n"@signature-params": '
    covered: str  # '("@status" ... "signature";req;key="sig1")'


_current: _Signer | None = None
_layouts: dict[tuple[str, bool], _Layout] = {}


def _signer(keys: KeyRing) -> _Signer:
    """The active key of the keyring's current keyset; rebuilt only when the keyset changes."""
    global _current
    keyset = keys.current()
    cached = _current
    if cached is not None and cached.keyset is keyset:
        return cached
    active = keyset.active
    key = SignatureKey(_ALG[active.alg], active.private_key, keyid=active.kid)
    keyid_param = ""
    if key.keyid:
        # The same serialisation the generic signer applies to its `keyid` parameter.
        keyid_param = serialize_item(Item(True, {"keyid": key.keyid}))[len("?1") :]
    cached = _Signer(keyset, key, keyid_param)
    _current = cached
    return cached


def _layout(request_label: str, with_type: bool) -> _Layout:
    layout = _layouts.get((request_label, with_type))
    if layout is not None:
        return layout
    items = [Item(name) for name in (_WITH_TYPE if with_type else _WITHOUT_TYPE)]
    items.append(Item("signature", {"req": True, "key": request_label}))
    idents = [serialize_item(item) for item in items]
    layout = _Layout(
        status_line=f"{idents[0]}: ",
        digest_line=f"\n{idents[1]}: ",
        type_line=f"\n{idents[2]}: " if with_type else "",
        request_line=f"\n{idents[-1]}: ",
        params_head='\n"@signature-params": ',
        covered=serialize_item(InnerList(tuple(items))),
    )
    if len(_layouts) >= _MAX_LAYOUTS:
        _layouts.clear()
    _layouts[(request_label, with_type)] = layout
    return layout


def _sha256_digest(body: bytes) -> str:
    """`content_digest(body)` (RFC 9530, sha-256 only) without the generic serialiser."""
    return "sha-256=:" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii") + ":"


def _request_signature_value(request: HttpRequest, verified: VerifiedSignature) -> str | None:
    """The `"signature";req;key=<label>` component value when the request's Signature header
    is exactly the one verified signature in canonical form (what signers send); else None."""
    headers = request.headers
    raw = headers.get("signature")
    if raw is None:
        return None
    for name in headers:
        # The generic signer looks header names up case-insensitively: a second spelling of
        # Signature would make the lookup ambiguous, so leave that to it.
        if len(name) == 9 and name != "signature" and name.lower() == "signature":
            return None
    value = ":" + base64.b64encode(verified.signature).decode("ascii") + ":"
    label = verified.label
    if len(raw) != len(label) + 1 + len(value) or raw != f"{label}={value}":
        return None
    return value


def _fast_headers(
    signer: _Signer,
    status: int,
    content_type: str | None,
    digest: str,
    request: HttpRequest,
    verified: VerifiedSignature,
    created: int,
) -> tuple[dict[str, str], bytes] | None:
    """The headers and the signed base, or None when the generic signer must decide."""
    if not 0 <= status <= 999 or abs(created) > _MAX_SF_INTEGER:
        return None
    request_value = _request_signature_value(request, verified)
    if request_value is None:
        return None
    if content_type is not None:
        content_type = content_type.strip(" \t")
        if "\n" in content_type or "\r" in content_type:
            return None  # the generic signer refuses it
    try:
        layout = _layout(verified.label, content_type is not None)
    except StructuredFieldError:
        return None
    params = f"{layout.covered};created={created}{signer.keyid_param}"
    base = "".join(
        (
            layout.status_line,
            f"{status:03d}",
            layout.digest_line,
            digest,
            layout.type_line,
            content_type or "",
            layout.request_line,
            request_value,
            layout.params_head,
            params,
        )
    ).encode("utf-8")
    signature = signer.key.sign(base)
    return {
        "content-digest": digest,
        "signature-input": f"{_LABEL}={params}",
        "signature": f"{_LABEL}=:{base64.b64encode(signature).decode('ascii')}:",
    }, base


def _generic_headers(
    key: SignatureKey,
    status: int,
    content_type: str | None,
    body: bytes,
    request: HttpRequest,
    verified: VerifiedSignature,
) -> dict[str, str]:
    """The headers through the generic RFC 9421 signer (the reference for the fast path)."""
    out = {"content-digest": content_digest(body)}
    components = list(_WITHOUT_TYPE)
    signed_headers: Mapping[str, str] = dict(out)
    if content_type is not None:
        components.append("content-type")
        signed_headers = {**out, "content-type": content_type}
    signed = sign_message(
        HttpResponse(status, signed_headers),
        key,
        request=request,
        request_label=verified.label,
        components=components,
        label=_LABEL,
    )
    out["signature-input"] = signed.signature_input
    out["signature"] = signed.signature
    return out


def sign_response(
    keys: KeyRing,
    status: int,
    content_type: str | None,
    body: bytes,
    request: HttpRequest,
    verified: VerifiedSignature,
) -> dict[str, str]:
    """Headers to add: Content-Digest, Signature-Input and Signature (label `bank`).

    The signature covers the status, the body's digest and (when there is one) its content
    type, plus the request's own signature: only those header values are needed."""
    signer = _signer(keys)
    fast = _fast_headers(
        signer,
        status,
        content_type,
        _sha256_digest(body),
        request,
        verified,
        int(utcnow().timestamp()),
    )
    if fast is not None:
        return fast[0]
    return _generic_headers(signer.key, status, content_type, body, request, verified)
