"""Tasks on a real Celery worker process over Redis."""

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuditLog
from accounts.tasks import prune_audit_log
from accounts.tests.factories import UserFactory

pytestmark = [pytest.mark.celery, pytest.mark.redis, pytest.mark.slow]


def wait_for_mail(mail_dir, to: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in sorted(mail_dir.glob("*.log")):
            text = path.read_text()
            if f"To: {to}" in text:
                return text
        time.sleep(0.2)
    raise AssertionError(f"no mail to {to} within {timeout}s")


def test_password_reset_email_is_sent_by_the_worker(use_celery_worker, mail_dir):
    user = UserFactory(email="worker-reset@example.com")
    client = APIClient()
    assert client.post("/api/v1/auth/password/reset-request", {"email": user.email}).status_code == 202
    mail = wait_for_mail(mail_dir, user.email)
    uid, token = re.search(r"/accounts/password-reset/([^/]+)/([^/\s]+)/", mail).groups()
    response = client.post("/api/v1/auth/password/reset", {"uid": uid, "token": token, "new_password": "Worker-Horse-77"})
    assert response.status_code == 204
    user.refresh_from_db()
    assert user.check_password("Worker-Horse-77")


def test_audit_retention_task_runs_on_the_worker(use_celery_worker):
    old = AuditLog.objects.create(action="login", created_at=timezone.now() - timedelta(days=400))
    fresh = AuditLog.objects.create(action="login")
    result = prune_audit_log.delay(365)
    assert result.get(timeout=30) == 1
    assert not AuditLog.objects.filter(pk=old.pk).exists()
    assert AuditLog.objects.filter(pk=fresh.pk).exists()
