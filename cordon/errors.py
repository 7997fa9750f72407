"""Errors as RFC 9457 problem+json with a stable ``code`` a client can switch on.

``title``, ``detail`` and the field messages follow ``Accept-Language``: Chinese by default,
English on request (``cordon.messages``). ``code`` and ``field`` never change with the language.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from cordon import messages

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


class RegionUnknownField(Unprocessable):
    """A request names a place the tree does not hold (or this service has not heard of yet)."""

    code = "region_unknown"


class PersonNotFound(NotFound):
    code = "person_not_found"


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers=None,
    lang: str | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem answer; ``detail`` is the English, put into Chinese unless the caller asked for English."""
    lang = lang or messages.language_var.get()
    if errors:
        errors = [{**e, "message": messages.localize(e.get("message", ""), lang) or e.get("message", "")} for e in errors]
    body = {
        "type": f"https://cordon.dev/problems/{code}",
        "title": messages.title(status, lang),
        "status": status,
        "detail": messages.detail(code, detail, lang),
        "code": code,
        "errors": errors or [],
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field(loc: tuple | list) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[0] if loc else "")


def language(request: Request) -> str:
    return messages.language(request.headers.get("accept-language"))


def field_errors(errs: list[dict], lang: str) -> list[dict[str, str]]:
    """pydantic's errors as ``[{field, message}]``, the message in ``lang``."""
    return [{"field": _field(e.get("loc", ())), "message": messages.field_message(e, lang)} for e in errs]


async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
    return problem(
        exc.status, exc.code, exc.detail, errors=exc.errors, headers=exc.headers, lang=language(request), **exc.extra
    )


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errs = exc.errors()
    lang = language(request)
    if any(e.get("type") == "json_invalid" for e in errs):
        return problem(400, "invalid_json", "The request body is not valid JSON.", lang=lang)
    return problem(422, "validation_error", "The request has invalid fields.", errors=field_errors(errs, lang), lang=lang)


async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem(exc.status_code, code, detail, headers=getattr(exc, "headers", None), lang=language(request))


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Unexpected errors: cordon.app.UnexpectedErrors, a middleware, not an exception handler,
    # which Starlette would run in ServerErrorMiddleware and then re-raise.
