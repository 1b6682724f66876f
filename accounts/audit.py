"""The audit-log service: who did what to which object, before and after, from where.

Request metadata (IP, user agent) travels in a context variable set by middleware or a socket
consumer, so services record it without taking the request as an argument.
"""

import contextvars
import datetime
import decimal
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import models

from .models import AuditLog, Organization

_EXCLUDED_FIELDS = {"password", "mfa_secret", "mfa_last_step", "credential_hash", "secret_hash"}


@dataclass(frozen=True)
class RequestMeta:
    ip_address: str | None = None
    user_agent: str = ""


_request_meta: contextvars.ContextVar[RequestMeta] = contextvars.ContextVar(
    "audit_request_meta", default=RequestMeta()  # noqa: B039 (frozen, immutable)
)


def client_ip(meta: dict) -> str | None:
    """The client address, trusting X-Forwarded-For only behind the configured proxies."""
    proxies = settings.REST_FRAMEWORK.get("NUM_PROXIES", 0)
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return meta.get("REMOTE_ADDR") or None


def set_request_meta(*, ip_address: str | None, user_agent: str = "") -> contextvars.Token:
    return _request_meta.set(RequestMeta(ip_address=ip_address, user_agent=(user_agent or "")[:300]))


def reset_request_meta(token: contextvars.Token) -> None:
    _request_meta.reset(token)


def _json_safe(value):
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if hasattr(value, "name") and hasattr(value, "storage"):  # FieldFile
        return value.name or None
    return value


def snapshot(instance: models.Model, fields: list[str] | None = None) -> dict:
    """The instance's concrete field values as JSON, secrets left out."""
    values = {}
    for field in instance._meta.concrete_fields:
        if field.name in _EXCLUDED_FIELDS or (fields is not None and field.name not in fields):
            continue
        values[field.attname if field.is_relation else field.name] = _json_safe(field.value_from_object(instance))
    return values


def changed_fields(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys whose values differ, from both sides."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def record(
    *,
    action: str,
    actor=None,
    organization: Organization | None = None,
    instance: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    object_repr: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> AuditLog:
    """Write one audit row; the request's IP and user agent come from the context."""
    meta = _request_meta.get()
    if instance is not None:
        object_type = object_type or instance._meta.label_lower
        object_id = object_id or instance.pk or ""
        object_repr = object_repr or str(instance)
    actor = actor if getattr(actor, "is_authenticated", False) else None
    return AuditLog.objects.create(
        actor=actor,
        actor_email=getattr(actor, "email", "") or "",
        organization=organization,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        object_repr=object_repr[:200],
        before=_json_safe(before) if before is not None else None,
        after=_json_safe(after) if after is not None else None,
        ip_address=meta.ip_address,
        user_agent=meta.user_agent,
    )
