"""Request size limits, answered with a 413 in the API's error shape.

Starlette's own body-limit middleware (FastAPI's `max_body_size`) replaces any response to a
request whose Content-Length is over the limit with a plain-text 413, so the API's JSON error
could not get through; this middleware is the same check with the API's answer.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.interfaces.api.problems import ErrorDetail, error_response


class BodyTooLarge(HTTPException):
    """Raised from `receive` when a streamed body passes its limit. An `HTTPException`, so
    FastAPI hands it to the API's error handlers rather than calling it a parse error."""

    def __init__(self, limit: int, setting: str) -> None:
        super().__init__(413, detail=f"the request body is larger than {limit:,} bytes ({setting})")


class BodyLimitMiddleware:
    """Refuse bodies over `limit` bytes (over `upload_limit` under `upload_prefix`): at once
    when Content-Length says so, otherwise as soon as the streamed body passes it."""

    def __init__(self, app: ASGIApp, *, limit: int, upload_limit: int, upload_prefix: str) -> None:
        self.app = app
        self.limit = limit
        self.upload_limit = upload_limit
        self.upload_prefix = upload_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if str(scope["path"]).startswith(self.upload_prefix):
            limit, setting = self.upload_limit, "ASSISTANT_SERVE_MAX_UPLOAD_BYTES"
        else:
            limit, setting = self.limit, "ASSISTANT_SERVE_MAX_BODY_BYTES"
        error = BodyTooLarge(limit, setting)
        length = Headers(scope=scope).get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await _refuse(error, scope, receive, send)
            return

        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise error
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await _refuse(error, scope, receive, send)


async def _refuse(error: BodyTooLarge, scope: Scope, receive: Receive, send: Send) -> None:
    response = error_response(413, ErrorDetail(type="request_too_large", message=error.detail))
    await response(scope, receive, send)
