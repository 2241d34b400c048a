"""Every error the API returns has one JSON shape, OpenAI-style: `{"error": {type, message}}`.

Assistant errors map to status codes here, so routes simply raise them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from assistant.errors import (
    AssistantError,
    InputError,
    ModelUnavailableError,
    StoreUnavailableError,
    ThreadNotFoundError,
    ThreadStoreUnavailableError,
)
from assistant.llm.errors import ModelOutputError

log = logging.getLogger(__name__)

_TYPES = {
    400: "invalid_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal_error",
    502: "model_output_error",
    503: "unavailable",
}

# Most specific first: the first class an error is an instance of decides.
_ASSISTANT_STATUS: list[tuple[type[AssistantError], int, str]] = [
    (ThreadNotFoundError, 404, "not_found"),
    (InputError, 400, "invalid_request"),
    (ModelUnavailableError, 503, "model_unavailable"),
    (StoreUnavailableError, 503, "store_unavailable"),
    (ThreadStoreUnavailableError, 503, "thread_store_unavailable"),
    # The model answered, but unusably even after a repair: a bad gateway, not bad input.
    (ModelOutputError, 502, "model_output_error"),
]


class ErrorDetail(BaseModel):
    type: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    """An HTTP error with a message for the caller (401, 404, 415, ...)."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


def describe(error: AssistantError) -> tuple[int, ErrorDetail]:
    """The status code and body detail for an assistant error."""
    for cls, status, kind in _ASSISTANT_STATUS:
        if isinstance(error, cls):
            return status, ErrorDetail(type=kind, message=str(error))
    return 500, ErrorDetail(type="assistant_error", message=str(error))


def error_response(
    status: int, detail: ErrorDetail, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    body = ErrorBody(error=detail).model_dump()
    return JSONResponse(body, status_code=status, headers=headers)


def api_error_response(exc: ApiError) -> JSONResponse:
    detail = ErrorDetail(type=_TYPES.get(exc.status, "error"), message=exc.message)
    return error_response(exc.status, detail, exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error the `ErrorBody` shape."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return api_error_response(exc)

    @app.exception_handler(AssistantError)
    async def assistant_error(request: Request, exc: AssistantError) -> JSONResponse:
        status, detail = describe(exc)
        return error_response(status, detail)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        return error_response(422, ErrorDetail(type="invalid_request", message=problems))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        detail = ErrorDetail(type=_TYPES.get(exc.status_code, "error"), message=str(exc.detail))
        return error_response(exc.status_code, detail, exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        # The exception text may hold paths or keys: it goes to the log, not to the caller.
        message = f"internal error ({type(exc).__name__}); the server log has the details"
        detail = ErrorDetail(type="internal_error", message=message)
        return error_response(500, detail)
