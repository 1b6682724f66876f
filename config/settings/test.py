"""Test settings: the same wiring as base, with fast hashing and tasks eager unless a test starts
a real worker. DATABASE_URL / REDIS_URL switch the suite onto the real servers (CI does)."""

import os

from .base import *  # noqa: F401,F403
from .base import DATABASES, REST_FRAMEWORK, VAR_DIR, env

DEBUG = False
# Argon2 stays in the list (and is the default in base); MD5 first only to keep factories fast.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
# A live server or worker subprocess writes mail to files (EMAIL_BACKEND/EMAIL_FILE_PATH from its env).
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
# Throttles stay on but high; the throttling tests lower them.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {scope: "10000/minute" for scope in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]},
}
CELERY_TASK_ALWAYS_EAGER = True
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "test-media"

VAR_DIR.mkdir(exist_ok=True)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not :memory:, so a live daphne or Celery subprocess sees the same test database.
    # One file per run, so two runs side by side do not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}
WHITENOISE_USE_FINDERS = True
