"""Every error the ingress answers, in the contract's shape `{"code", "message", "details"}`.

Processors reply with error codes; `schemas.errors.HTTP_STATUS_BY_CODE` maps
them to HTTP statuses in one place, shared with the processors.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from schemas.envelope import ReplyError
from schemas.errors import HTTP_STATUS_BY_CODE, ErrorBody

log = structlog.get_logger(__name__)

RETRY_AFTER_S = 1

STATUS_BY_CODE = HTTP_STATUS_BY_CODE


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = ErrorBody(code=code, message=message, details=details)
        self.headers = headers

    @classmethod
    def unavailable(cls, message: str = "A dependency is unavailable; retry later.") -> ApiError:
        return cls(503, "unavailable", message, headers={"Retry-After": str(RETRY_AFTER_S)})

    @classmethod
    def from_reply(cls, error: ReplyError) -> ApiError:
        status = STATUS_BY_CODE.get(error.code, 500)
        headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
        return cls(status, error.code, error.message, error.details, headers)


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(
        error.body.model_dump(exclude_none=True), status_code=error.status, headers=error.headers
    )


def install_error_handlers(app: FastAPI) -> None:
    async def on_api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc)

    async def on_validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        # The offending fields, never their values: a QR payload must not echo back.
        details = [
            {
                "field": ".".join(str(p) for p in err["loc"]),
                "reason": err["msg"],
                "type": err["type"],
            }
            for err in exc.errors()
        ]
        return error_response(
            ApiError(422, "invalid_request", "The request body is not valid.", details)
        )

    async def on_http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        phrase = HTTPStatus(exc.status_code).phrase
        code = phrase.lower().replace(" ", "_").replace("-", "_")
        message = exc.detail if isinstance(exc.detail, str) else phrase
        return error_response(ApiError(exc.status_code, code, message))

    async def on_unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", error=type(exc).__name__)
        return error_response(ApiError(500, "internal_error", "Something went wrong on our side."))

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
