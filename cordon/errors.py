"""Errors as RFC 9457 problem+json with a stable ``code`` a client can switch on."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cordon.observability import request_id_var

log = logging.getLogger("cordon.errors")

PROBLEM_JSON = "application/problem+json"

# Codes for errors the framework raises itself, by status.
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    503: "unavailable",
}


class DomainError(Exception):
    """A rule refused the request. Subclasses fix ``code`` and ``status``."""

    code: str = "domain_error"
    status: int = 400

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        status: int | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.code
        self.status = status or self.status
        self.errors = errors or []
        self.headers = headers or {}
        self.extra = extra


class NotFound(DomainError):
    code, status = "not_found", 404


class Conflict(DomainError):
    code, status = "conflict", 409


class Unprocessable(DomainError):
    code, status = "validation_error", 422


class Unauthenticated(DomainError):
    code, status = "unauthenticated", 401


class Forbidden(DomainError):
    code, status = "forbidden", 403


# Refusals several services give, declared once.


class PhoneInvalid(Unprocessable):
    code = "phone_invalid"


class IdNumberInvalid(Unprocessable):
    code = "id_number_invalid"


class RegionInvalid(Unprocessable):
    code = "region_code_invalid"


class RegionForbidden(Forbidden):
    code = "region_forbidden"


class RegionNotFound(NotFound):
    code = "region_not_found"


class PersonNotFound(NotFound):
    code = "person_not_found"


def problem(
    status: int, code: str, detail: str, *, errors: list[dict[str, str]] | None = None, headers=None, **extra: Any
) -> JSONResponse:
    body = {
        "type": f"https://cordon.dev/problems/{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "errors": errors or [],
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field(loc: tuple | list) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[0] if loc else "")


async def _domain_error(_: Request, exc: DomainError) -> JSONResponse:
    return problem(exc.status, exc.code, exc.detail, errors=exc.errors, headers=exc.headers, **exc.extra)


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    errs = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errs):
        return problem(400, "invalid_json", "The request body is not valid JSON.")
    errors = [{"field": _field(e.get("loc", ())), "message": e.get("msg", "invalid")} for e in errs]
    return problem(422, "validation_error", "The request has invalid fields.", errors=errors)


async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem(exc.status_code, code, detail, headers=getattr(exc, "headers", None))


def database_unreachable(exc: BaseException) -> bool:
    """A lost or refused database connection (a restart, a failover): the pool reconnects, the caller retries."""
    import asyncpg
    from sqlalchemy.exc import DBAPIError

    lost = (
        ConnectionError, OSError, asyncpg.exceptions.ConnectionDoesNotExistError, asyncpg.PostgresConnectionError,
        asyncpg.exceptions.AdminShutdownError, asyncpg.exceptions.CannotConnectNowError,
    )
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:  # the driver's error, under SQLAlchemy's wrappers
        if isinstance(exc, lost):
            return True
        seen.add(id(exc))
        exc = getattr(exc, "orig", None) or exc.__cause__
    return False


class UnexpectedErrors:
    """An unexpected error becomes an ordinary 500 problem+json carrying the request id.

    Starlette's ServerErrorMiddleware answers such an error and then re-raises it, and
    uvicorn closes the connection of a request whose app raised: a proxy's pooled
    connection died with it, and the next caller on it got a 502. Here the error is
    logged and answered, and the request ends normally, so the connection stays usable.
    Installed inside the request-id middleware (``cordon.app``), so the id is known.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            log.exception("unhandled error on %s %s", scope.get("method"), getattr(scope.get("route"), "path", "unmatched"))
            if started:  # part of an answer is out: nothing truthful can follow it on this connection
                raise
            rid = request_id_var.get()
            if database_unreachable(exc):
                response = problem(
                    503, "database_unavailable", "数据库暂时无法连接，请稍后重试（the database cannot be reached; try again shortly）。",
                    headers={"Retry-After": "1"}, request_id=rid,
                )
            else:
                response = problem(
                    500, "internal_error", "服务出现意外错误，已记录，请稍后重试（an unexpected error occurred; it has been logged）。",
                    request_id=rid,
                )
            await response(scope, receive, send)


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Unexpected errors: UnexpectedErrors, a middleware (cordon.app), not an exception handler,
    # which Starlette would run in ServerErrorMiddleware and then re-raise.
