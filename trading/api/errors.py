"""One error shape for every failure under /api/: `{"error": code, "detail": message, …}`.

Codes and messages are constants so tests assert on them. Ninja's own failures (validation, body
parsing, authentication, unknown routes, wrong methods) are turned into the same shape here.
"""

from __future__ import annotations

import logging
from functools import wraps

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from trading.config import ConfigMissing
from trading.intents.registry import IntentNotFound
from trading.intents.runs import IdempotencyConflict, IntentParamsInvalid, WorkerUnavailable

log = logging.getLogger("trading.api")

# Error codes (the `error` field).
BAD_REQUEST = "bad_request"
VALIDATION_ERROR = "validation_error"
INVALID_PARAMS = "invalid_params"
UNAUTHORIZED = "unauthorized"
FORBIDDEN = "forbidden"
CSRF_FAILED = "csrf_failed"
NOT_FOUND = "not_found"
UNKNOWN_INTENT = "unknown_intent"
RUN_NOT_FOUND = "run_not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"
IDEMPOTENCY_CONFLICT = "idempotency_conflict"
WORKER_UNAVAILABLE = "worker_unavailable"
WAIT_TIMEOUT = "wait_timeout"
CONFIG_MISSING = "config_missing"
INTERNAL_ERROR = "internal_error"
PAYLOAD_TOO_LARGE = "payload_too_large"
TOO_MANY_FIELDS = "too_many_fields"

# Messages (the `detail` field) the API itself writes.
MSG_NOT_AUTHENTICATED = "authentication required: send `Authorization: Bearer <token>` (or log in for the dashboard)"
MSG_INVALID_TOKEN = "the API token is unknown, revoked, or its user is inactive"
MSG_READ_ONLY = "this token is read-only: it cannot submit intents or change settings"
MSG_STAFF_ONLY = "only staff users may change trading switches"
MSG_CSRF = "CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken header"
MSG_BAD_BODY = "the request body is not valid JSON"
MSG_INVALID = "the request does not match the schema (see `errors`)"
MSG_NUL = "text may not contain NUL characters"
MSG_NO_ROUTE = "no API endpoint at {path}"
MSG_METHOD = "{method} is not allowed here; use {allowed}"
MSG_RUN_NOT_FOUND = "no run #{run_id}"
MSG_WAIT_TIMEOUT = "run #{run_id} did not finish within {wait:g}s; it keeps going: follow it at GET /api/runs/{run_id}"
MSG_INTERNAL = "the server failed to handle this request; it has been logged"
MSG_NOT_FOUND = "not found"
MSG_TOO_LARGE = "the request body is larger than the limit of {limit} bytes (DATA_UPLOAD_MAX_MEMORY_SIZE)"
MSG_TOO_MANY_FIELDS = "the request has more than {limit} parameters (DATA_UPLOAD_MAX_NUMBER_FIELDS)"
MSG_SUSPICIOUS = "the request was refused as malformed ({reason})"


class ApiError(Exception):
    """An expected failure with its status, code and message; `extra` adds fields to the body."""

    status = 400
    code = BAD_REQUEST

    def __init__(self, detail: str, *, status: int | None = None, code: str | None = None, **extra):
        super().__init__(detail)
        self.detail = detail
        self.status = status or self.status
        self.code = code or self.code
        self.extra = extra


class Unauthorized(ApiError):
    status, code = 401, UNAUTHORIZED


class Forbidden(ApiError):
    status, code = 403, FORBIDDEN


class RunNotFound(ApiError):
    status, code = 404, RUN_NOT_FOUND


class WaitTimedOut(ApiError):
    status, code = 504, WAIT_TIMEOUT


def error_body(code: str, detail: str, **extra) -> dict:
    return {"error": code, "detail": detail, **{k: v for k, v in extra.items() if v is not None}}


def error_json(status: int, code: str, detail: str, **extra) -> JsonResponse:
    """For the few places outside ninja's handlers (unknown routes, wrong methods, the docs guard)."""
    response = JsonResponse(error_body(code, detail, **extra), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _clean_errors(errors: list[dict]) -> list[dict]:
    """Pydantic errors without `input`/`ctx` (they may echo secrets or hold non-JSON values)."""
    return [{"loc": list(e.get("loc", [])), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))} for e in errors]


HTTP_ERROR_CODES = {400: BAD_REQUEST, 401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND, 405: METHOD_NOT_ALLOWED}
HTTP_ERROR_MESSAGES = {400: MSG_BAD_BODY, 401: MSG_NOT_AUTHENTICATED}


def errors_install(api: NinjaAPI) -> None:
    """Replace ninja's default handlers so every failure answers in the one shape."""

    def respond(request: HttpRequest, status: int, code: str, detail: str, **extra) -> HttpResponse:
        response = api.create_response(request, error_body(code, detail, **extra), status=status)
        if status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response

    def on_api_error(request, exc: ApiError):
        return respond(request, exc.status, exc.code, exc.detail, **exc.extra)

    def on_http_error(request, exc: HttpError):
        status = exc.status_code
        detail = HTTP_ERROR_MESSAGES.get(status, str(exc))
        return respond(request, status, HTTP_ERROR_CODES.get(status, BAD_REQUEST), detail)

    def on_validation_error(request, exc: ValidationError):
        return respond(request, 422, VALIDATION_ERROR, MSG_INVALID, errors=_clean_errors(exc.errors))

    def on_suspicious(request, exc: SuspiciousOperation):
        # Django refuses these before any view logic runs; they are the caller's fault, not ours.
        log.warning("API request %s %s refused: %s: %s", request.method, request.path, type(exc).__name__, exc)
        if isinstance(exc, RequestDataTooBig):
            return respond(request, 413, PAYLOAD_TOO_LARGE, MSG_TOO_LARGE.format(limit=settings.DATA_UPLOAD_MAX_MEMORY_SIZE))
        if isinstance(exc, TooManyFieldsSent):
            return respond(
                request, 400, TOO_MANY_FIELDS, MSG_TOO_MANY_FIELDS.format(limit=settings.DATA_UPLOAD_MAX_NUMBER_FIELDS)
            )
        return respond(request, 400, BAD_REQUEST, MSG_SUSPICIOUS.format(reason=type(exc).__name__))

    def on_exception(request, exc: Exception):
        log.exception("API request %s %s failed", request.method, request.path)
        return respond(request, 500, INTERNAL_ERROR, MSG_INTERNAL)

    api.add_exception_handler(ApiError, on_api_error)
    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(AuthenticationError, on_http_error)
    api.add_exception_handler(ValidationError, on_validation_error)
    api.add_exception_handler(SuspiciousOperation, on_suspicious)
    api.add_exception_handler(Http404, lambda request, exc: respond(request, 404, NOT_FOUND, MSG_NOT_FOUND))
    api.add_exception_handler(IntentNotFound, lambda request, exc: respond(request, 404, UNKNOWN_INTENT, str(exc)))
    api.add_exception_handler(
        IntentParamsInvalid,
        lambda request, exc: respond(request, 422, INVALID_PARAMS, str(exc), errors=_clean_errors(exc.errors)),
    )
    api.add_exception_handler(IdempotencyConflict, lambda request, exc: respond(request, 409, IDEMPOTENCY_CONFLICT, str(exc)))
    api.add_exception_handler(WorkerUnavailable, lambda request, exc: respond(request, 503, WORKER_UNAVAILABLE, str(exc)))
    api.add_exception_handler(ConfigMissing, lambda request, exc: respond(request, 503, CONFIG_MISSING, str(exc)))
    api.add_exception_handler(
        DjangoValidationError, lambda request, exc: respond(request, 422, VALIDATION_ERROR, _django_message(exc))
    )
    api.add_exception_handler(Exception, on_exception)


def _django_message(exc: DjangoValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
    return " ".join(exc.messages)


def route_not_found(request: HttpRequest, *args, **kwargs) -> JsonResponse:
    """The last pattern under /api/: unknown routes answer in the error shape, not Django's HTML page."""
    return error_json(404, NOT_FOUND, MSG_NO_ROUTE.format(path=request.path))


route_not_found.csrf_exempt = True


def json_method_not_allowed(view):
    """Ninja answers a wrong method with a plain-text 405; give it the error shape (keeping `Allow`)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if response.status_code != 405 or response.get("Content-Type", "").startswith("application/json"):
            return response
        allowed = response.get("Allow", "")
        replaced = error_json(405, METHOD_NOT_ALLOWED, MSG_METHOD.format(method=request.method, allowed=allowed))
        replaced["Allow"] = allowed
        return replaced

    wrapper.csrf_exempt = True
    return wrapper
