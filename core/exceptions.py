"""One error shape for the whole API: {"error": {"code", "message", "fields"?}}.

Services raise Django's ValidationError or a small domain exception from here; the handler below
turns every one of them, and DRF's own, into that shape with the right 4xx.
"""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)


class DomainError(exceptions.APIException):
    """Base for domain exceptions raised by services; subclasses set status and code."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"
    default_detail = "The request cannot be completed."

    def __init__(self, detail=None, code: str | None = None):
        super().__init__(detail, code)
        self.error_code = code or self.default_code


class Conflict(DomainError):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"
    default_detail = "The request conflicts with the current state."


class PayloadTooLarge(DomainError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "payload_too_large"
    default_detail = "The request body is too large."


class AccountLocked(DomainError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "account_locked"
    default_detail = "Too many failed login attempts; the account is locked for a while."


def first_error_message(detail) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            message = first_error_message(value)
            return message if key in ("non_field_errors", "detail") else f"{key}: {message}"
        return "Invalid input."
    if isinstance(detail, list):
        return first_error_message(detail[0]) if detail else "Invalid input."
    return str(detail)


def stringify_errors(detail):
    if isinstance(detail, dict):
        return {key: stringify_errors(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [stringify_errors(item) for item in detail]
    return str(detail)


def _code_of(exc: exceptions.APIException) -> str:
    if isinstance(exc, DomainError):
        return exc.error_code
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    if isinstance(exc.detail, dict) and isinstance(exc.detail.get("code"), str):
        return str(exc.detail["code"])  # simplejwt: {"detail", "code": "token_not_valid", ...}
    return exc.default_code


def error_body(code: str, message: str, fields: dict | None = None) -> dict:
    error = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    return {"error": error}


def _to_api_exception(exc):
    if isinstance(exc, DjangoValidationError):
        if hasattr(exc, "error_dict"):
            return exceptions.ValidationError(exc.message_dict)
        return exceptions.ValidationError({"non_field_errors": exc.messages})
    if isinstance(exc, Http404):
        return exceptions.NotFound(str(exc) or "Not found.")
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, SuspiciousOperation):
        return exceptions.ParseError(str(exc) or "Malformed request.")
    return exc


def api_exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every error as {"error": {...}}; unexpected ones stay 500s."""
    exc = _to_api_exception(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a genuine bug: let Django log it and answer 500
    detail = exc.detail
    if isinstance(exc, exceptions.ValidationError):
        detail = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        codes = exc.get_codes()
        code = "validation_error"
        if isinstance(codes, dict) and set(codes) == {"non_field_errors"}:
            first = codes["non_field_errors"]
            code = first[0] if isinstance(first, list) and first and first[0] != "invalid" else code
        body = error_body(code, first_error_message(detail), stringify_errors(detail))
    elif isinstance(detail, dict) and "detail" not in detail:  # a domain error about fields
        body = error_body(_code_of(exc), first_error_message(detail), stringify_errors(detail))
    else:
        message = detail.get("detail") if isinstance(detail, dict) else first_error_message(detail)
        body = error_body(_code_of(exc), str(message))
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            body["error"]["retry_after"] = int(exc.wait)
    response.data = body
    return response


def json_error_response(status_code: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status_code)


def handler404(request, exception=None):
    if request.path.startswith("/api/"):
        return json_error_response(404, "not_found", "Not found.")
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    if request.path.startswith("/api/"):
        return json_error_response(500, "server_error", "Internal server error.")
    from django.views.defaults import server_error

    return server_error(request)


def handler400(request, exception=None):
    if request.path.startswith("/api/"):
        return json_error_response(400, "bad_request", "Bad request.")
    from django.views.defaults import bad_request

    return bad_request(request, exception)


def handler403(request, exception=None):
    if request.path.startswith("/api/"):
        return json_error_response(403, "permission_denied", "Permission denied.")
    from django.views.defaults import permission_denied

    return permission_denied(request, exception)
