"""Background jobs of accounts: emails and audit-log retention."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from .models import AuditLog, Membership, User


def _reset_url(user: User) -> str:
    from .services import password_reset_link_parts

    uid, token = password_reset_link_parts(user)
    return settings.SITE_URL.rstrip("/") + reverse("accounts:password-reset-confirm", args=[uid, token])


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_password_reset_email(user_id: int) -> None:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return
    body = render_to_string("accounts/email/password_reset.txt", {"user": user, "url": _reset_url(user)})
    send_mail("Reset your Physical AI Platform password", body, None, [user.email])


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invitation_email(membership_id: int, new_user: bool) -> None:
    membership = Membership.objects.select_related("user", "organization").filter(pk=membership_id).first()
    if membership is None:
        return
    context = {
        "membership": membership,
        "url": _reset_url(membership.user) if new_user else settings.SITE_URL,
        "new_user": new_user,
    }
    body = render_to_string("accounts/email/invitation.txt", context)
    send_mail(f"You have joined {membership.organization.name}", body, None, [membership.user.email])


@shared_task(acks_late=True)
def prune_audit_log(retention_days: int | None = None) -> int:
    """Delete audit rows older than the retention period; returns how many went."""
    days = retention_days if retention_days is not None else settings.AUDIT_LOG_RETENTION_DAYS
    deleted, _ = AuditLog.objects.filter(created_at__lt=timezone.now() - timedelta(days=days)).delete()
    return deleted
