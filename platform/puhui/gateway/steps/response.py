"""Steps 11-13 on the way out: mask, sign, audit, then let the response's last byte go.

The response start is held until the body is complete (JSON responses are one chunk), so the
body can be masked and signed, and the call's audit record is committed before anything is sent:
a call whose record cannot be committed answers 503 instead of a result nobody can account for.
Streamed responses pass through; their record is committed before the final chunk.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import msgspec
from litestar.exceptions import HTTPException

from puhui.audit.writer import AuditWriteFailed
from puhui.errors import ProblemError
from puhui.gateway.catalogue import ApiSpec
from puhui.gateway.steps.audit import audit_call, report_refusal
from puhui.gateway.steps.controls import GatewayControls
from puhui.gateway.steps.masking import mask_response
from puhui.gateway.steps.problems import AUDIT_UNAVAILABLE
from puhui.gateway.steps.response_signature import sign_response
from puhui.security.httpsig import HttpRequest, VerifiedSignature
from puhui.security.ratelimit import Decision
from puhui.tenancy.subject import AuthSubject

if TYPE_CHECKING:
    from litestar.types import HTTPResponseStartEvent, Message, Scope, Send

__all__ = [
    "GatewayCall",
    "ResponseSteps",
    "audit_failure",
    "header_value",
    "raw_headers",
]


@dataclass(slots=True)
class GatewayCall:
    """What the outer pipeline needs to audit a call that fails before it responds."""

    started: float = field(default_factory=time.perf_counter)
    spec: ApiSpec | None = None
    request_id: str = "-"
    client_ip: str | None = None
    idempotency_key: str | None = None
    responded: bool = False

    def bind(
        self, spec: ApiSpec | None, request_id: str, client_ip: str, idempotency_key: str | None
    ) -> None:
        self.spec, self.request_id, self.client_ip = spec, request_id, client_ip
        # Kept (bounded) so partners can find a call by the key they sent.
        self.idempotency_key = idempotency_key[:255] if idempotency_key else None


class ResponseSteps:
    """The send callable the handler's response goes through (steps 11, 12, 13, 14).

    `defaults` are headers added when the handler did not set them (the security headers of
    step 14); `headers` replace any the handler set. The final header list is built once, just
    before the response start is sent."""

    __slots__ = (
        "_call",
        "_controls",
        "_decision",
        "_defaults",
        "_method",
        "_send",
        "_signed_request",
        "_start",
        "_status",
        "_subject",
        "_verified",
        "headers",
    )

    def __init__(
        self,
        send: Send,
        controls: GatewayControls,
        call: GatewayCall,
        *,
        subject: AuthSubject | None,
        method: str,
        decision: Decision | None = None,
        signed_request: HttpRequest | None = None,
        verified: VerifiedSignature | None = None,
        defaults: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        self._send = send
        self._controls = controls
        self._call = call
        self._subject = subject
        self._method = method
        self._decision = decision
        self._signed_request = signed_request
        self._verified = verified
        self._defaults = defaults
        self._start: HTTPResponseStartEvent | None = None
        self._status = 200
        # Header values that replace any the handler set (lower-case names), applied in one
        # pass over the response's headers just before they are sent.
        self.headers: dict[bytes, bytes] = {}

    async def send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            decision = self._decision
            if decision is not None:
                self.headers[b"ratelimit-policy"] = decision.policy_header.encode("latin-1")
                self.headers[b"ratelimit"] = decision.ratelimit_header.encode("latin-1")
            self._start = cast("HTTPResponseStartEvent", message)
            return
        if kind != "http.response.body":
            await self._send(message)
            return
        more = message.get("more_body", False)
        start, self._start = self._start, None
        if start is not None and not more:
            await self._complete(start, cast("bytes", message.get("body", b"")))
            return
        if start is not None:  # a streamed response: headers go now, the record before the end
            self._call.responded = True
            self._finish_headers(start, self.headers)
            await self._send(start)
            self._status = int(start["status"])
        if not more:
            await self._audit(self._status)
        await self._send(message)

    async def _complete(self, start: HTTPResponseStartEvent, body: bytes) -> None:
        spec = self._call.spec
        if spec is None:
            self._finish_headers(start, self.headers)
        else:
            status = int(start["status"])
            replace = self.headers
            sign = (
                spec.level == "A2"
                and self._verified is not None
                and self._signed_request is not None
            )
            content_type = (
                header_value(raw_headers(start), b"content-type") if spec.fields or sign else ""
            )
            # 11. response masking (only routes that declare classified fields)
            if spec.fields and content_type.startswith("application/json"):
                body = mask_response(spec, self._subject, body)
            # 12. response signature (A2, client calls)
            if sign:
                added = sign_response(
                    self._controls.response_keys,
                    status,
                    content_type or None,
                    body,
                    cast("HttpRequest", self._signed_request),
                    cast("VerifiedSignature", self._verified),
                )
                for name, value in added.items():
                    replace[name.encode("latin-1")] = value.encode("latin-1")
            replace[b"content-length"] = str(len(body)).encode("latin-1")
            # 13. audit record, committed before the response leaves
            try:
                await self._audit(status)
            except AuditWriteFailed:
                start, body = _audit_unavailable(start, self._call.request_id)
            else:
                self._finish_headers(start, replace)
        self._call.responded = True
        await self._send(start)
        await self._send({"type": "http.response.body", "body": body, "more_body": False})

    def _finish_headers(self, start: HTTPResponseStartEvent, replace: dict[bytes, bytes]) -> None:
        """The handler's headers less those replaced, the defaults it did not set, then the
        replacements (in that order), built in one pass."""
        raw = raw_headers(start)
        present: set[bytes] = set()
        final: list[tuple[bytes, bytes]] = []
        for pair in raw:
            name = pair[0].lower()
            present.add(name)
            if name not in replace:
                final.append(pair)
        for pair in self._defaults:  # a default the replacements also name is theirs
            if pair[0] not in present and pair[0].lower() not in replace:
                final.append(pair)
        final.extend(replace.items())
        raw[:] = final  # in place: the start message holds this list

    async def _audit(self, status: int) -> None:
        spec = self._call.spec
        if spec is None or not spec.audited:
            return
        await audit_call(
            self._controls,
            spec=spec,
            subject=self._subject,
            method=self._method,
            status=status,
            started=self._call.started,
            request_id=self._call.request_id,
            client_ip=self._call.client_ip,
            idempotency_key=self._call.idempotency_key,
        )


def raw_headers(message: Any) -> list[tuple[bytes, bytes]]:
    """The message's header list, made a mutable list of pairs in place (ASGI allows any
    iterable); cheaper than a MutableScopeHeaders view, which re-decodes every name per lookup."""
    raw = message.get("headers")
    if not isinstance(raw, list) or (raw and not isinstance(raw[0], tuple)):
        raw = [(bytes(name), bytes(value)) for name, value in raw or ()]
        message["headers"] = raw
    return raw


def header_value(raw: list[tuple[bytes, bytes]], name: bytes) -> str:
    for key, value in raw:
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def _audit_unavailable(
    start: HTTPResponseStartEvent, request_id: str
) -> tuple[HTTPResponseStartEvent, bytes]:
    body = msgspec.json.encode(
        {
            "type": f"/problems/{AUDIT_UNAVAILABLE.slug}",
            "title": AUDIT_UNAVAILABLE.title,
            "status": AUDIT_UNAVAILABLE.status,
            "detail": AUDIT_UNAVAILABLE.description,
            "request_id": request_id,
        }
    )
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
        (b"cache-control", b"no-store"),
    ]
    replaced: Any = {"type": "http.response.start", "status": 503, "headers": headers}
    del start
    return replaced, body


def _failure_status(exc: BaseException) -> tuple[int, str | None]:
    if isinstance(exc, ProblemError):
        return exc.kind.status, exc.kind.slug
    if isinstance(exc, HTTPException):
        return exc.status_code, None
    return 500, None


async def audit_failure(
    controls: GatewayControls,
    scope: Scope,
    call: GatewayCall,
    subject: AuthSubject | None,
    exc: BaseException,
) -> None:
    """Record a call that ended in an exception (refusals of steps 2-9 and handler errors)."""
    spec = call.spec
    if call.responded or spec is None or not spec.audited:
        return
    status, problem = _failure_status(exc)
    with contextlib.suppress(AuditWriteFailed):  # refused anyway; the writer logged the batch
        await audit_call(
            controls,
            spec=spec,
            subject=subject,
            method=str(scope.get("method", "")),
            status=status,
            started=call.started,
            request_id=call.request_id,
            client_ip=call.client_ip,
            idempotency_key=call.idempotency_key,
            problem=problem,
        )
    if status in {401, 403, 429}:
        await report_refusal(
            controls, subject=subject, problem=problem, status=status, client_ip=call.client_ip
        )
