"""Django's storage API against an S3-compatible server (moto) on loopback."""

import urllib.request

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from core.health import run_checks

pytestmark = [pytest.mark.s3, pytest.mark.slow]


def test_default_storage_writes_reads_and_signs_urls_on_s3(s3_storage):
    name = default_storage.save("exports/hello.txt", ContentFile(b"hello robots"))
    stored = s3_storage.get_object(Bucket=s3_storage.bucket, Key=name)["Body"].read()
    assert stored == b"hello robots"
    with default_storage.open(name) as handle:
        assert handle.read() == b"hello robots"
    url = default_storage.url(name)
    assert "X-Amz-Signature" in url
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback moto)
        assert response.read() == b"hello robots"
    default_storage.delete(name)
    assert not default_storage.exists(name)


@pytest.mark.django_db
def test_health_reports_s3_storage(s3_storage):
    storage = run_checks()["checks"]["storage"]
    assert storage["status"] == "ok" and storage["backend"] == "s3"


@pytest.mark.django_db
def test_health_reports_a_missing_bucket_as_an_error(s3_storage, settings):
    settings.AWS_STORAGE_BUCKET_NAME = "no-such-bucket"
    settings.STORAGES = {**settings.STORAGES}  # re-create the storage with the new bucket
    report = run_checks()
    assert report["status"] == "degraded"
    assert report["checks"]["storage"]["status"] == "error"
