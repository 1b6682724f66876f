"""Settings shared by every environment.

Every value a deployment may tune is read from the environment here, and only here. Each part has
an embedded default (SQLite, in-process channel layer and cache, eager tasks, local files) and
switches to its real server when the matching variable is set (see README "Environment").
"""

from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
env.read_env(BASE_DIR / ".env") if (BASE_DIR / ".env").exists() else None

# --- core -------------------------------------------------------------------------------------
INSECURE_DEFAULT_SECRET_KEY = "django-insecure-physical-ai-platform-local-only"
SECRET_KEY = env.str("SECRET_KEY", default=INSECURE_DEFAULT_SECRET_KEY)
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list(
    "CSRF_TRUSTED_ORIGINS", default=["http://127.0.0.1:8000", "http://localhost:8000"]
)
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "corsheaders",
    "axes",
    "channels",
    "storages",
    "core",
    "accounts",
    "robots",
    "training",
    "posture",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.CurrentOrganizationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.current_organization",
            ],
        },
    },
]

# --- database ---------------------------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default="")
if DATABASE_URL:
    DATABASES = {"default": env.db_url_config(DATABASE_URL)}
    # Under ASGI every request runs in a fresh thread with its own connection, so persistent
    # connections are never reused and pile up: PostgreSQL uses psycopg's pool instead.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DB_POOL_MAX_SIZE", default=10),
            "timeout": env.int("DB_POOL_TIMEOUT", default=10),
        }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            "OPTIONS": {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- redis: cache and channel layer -----------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.SharedPoolRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="pap"),
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py's default 5 s read timeout equals channels-redis's 5 s BZPOPMIN: on a busy
                # event loop the client gave up just before the server's answer and the socket
                # closed with 1011. Blocking reads need head-room above 5 s.
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
                "prefix": env.str("CHANNEL_LAYER_PREFIX", default="pap"),
                # Bounded per-channel buffers: a client that never reads loses old messages
                # instead of growing memory without end.
                "capacity": env.int("CHANNEL_LAYER_CAPACITY", default=500),
                "expiry": 30,
                # A socket that left without saying so (its server died) stays a group member
                # this long at most; live sockets re-join their groups well within it.
                "group_expiry": 300,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 500, "expiry": 30, "group_expiry": 300},
        }
    }

# --- celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL or None)
# Without a broker, tasks run in-process so `make run` needs nothing else.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=3600)
# Redis hands a job whose worker died (unacknowledged) to another worker after the visibility
# timeout; workers look for such jobs every CELERY_UNACKED_RESTORE_INTERVAL seconds.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": 1,
}
CELERY_BEAT_SCHEDULE = {
    "prune-audit-log": {
        "task": "accounts.tasks.prune_audit_log",
        "schedule": timedelta(hours=24),
    },
    "expire-robot-commands": {
        "task": "robots.tasks.expire_overdue_commands",
        "schedule": timedelta(seconds=5),
    },
}

# --- files ------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
MAX_FILE_SIZE = env.int("MAX_FILE_SIZE", default=100 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
STATICFILES_STORAGE_BACKEND = "whitenoise.storage.CompressedStaticFilesStorage"
if AWS_STORAGE_BUCKET_NAME:
    AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default=None)
    AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default="us-east-1")
    AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default=None)
    AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default=None)
    AWS_S3_ADDRESSING_STYLE = env.str("AWS_S3_ADDRESSING_STYLE", default="path")
    AWS_S3_SIGNATURE_VERSION = "s3v4"
    AWS_DEFAULT_ACL = None
    AWS_QUERYSTRING_AUTH = True
    AWS_QUERYSTRING_EXPIRE = env.int("AWS_QUERYSTRING_EXPIRE", default=300)
    AWS_S3_FILE_OVERWRITE = False
    STORAGES = {
        "default": {"BACKEND": "storages.backends.s3.S3Storage"},
        "staticfiles": {"BACKEND": STATICFILES_STORAGE_BACKEND},
    }
else:
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": STATICFILES_STORAGE_BACKEND},
    }

# --- vectors (used by the assistant) ----------------------------------------------------------
QDRANT_URL = env.str("QDRANT_URL", default="")
QDRANT_API_KEY = env.str("QDRANT_API_KEY", default="")
QDRANT_PATH = env.path("QDRANT_PATH", default=VAR_DIR / "qdrant")
COHERE_API_KEY = env.str("COHERE_API_KEY", default="")
COHERE_EMBED_MODEL = env.str("COHERE_EMBED_MODEL", default="embed-english-v3.0")
LLM_BASE_URL = env.str("LLM_BASE_URL", default="")
LLM_API_KEY = env.str("LLM_API_KEY", default="")
LLM_MODEL = env.str("LLM_MODEL", default="")

# --- auth -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:dashboard"
LOGOUT_REDIRECT_URL = "accounts:login"
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT", default=3 * 3600)

# django-axes: 5 failures within 15 minutes lock the account (by email), and separately a client
# address, for the cool-off time.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one: the account, or a stuffing client
AXES_USERNAME_FORM_FIELD = "email"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_LOCKOUT_CALLABLE = "accounts.views.lockout_response"
AXES_VERBOSE = False
AXES_USERNAME_CALLABLE = "accounts.services.axes_username"

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
}
MFA_ISSUER = env.str("MFA_ISSUER", default="Physical AI Platform")
MFA_TOKEN_MAX_AGE = 300
MFA_BACKUP_CODE_COUNT = 10

# --- API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.CachedJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
        "rest_framework.filters.SearchFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.exceptions.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "auth": env.str("AUTH_THROTTLE_RATE", default="20/minute"),
        "auth_sensitive": env.str("AUTH_SENSITIVE_THROTTLE_RATE", default="5/minute"),
    },
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Physical AI Platform API",
    "DESCRIPTION": "Gesture training data, robots, skills marketplace, posture and yoga coaching, "
    "holographic displays and the textbook assistant.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "RobotStatusEnum": "robots.models.Robot.Status",
        "RobotConnectionStatusEnum": "robots.models.RobotConnection.Status",
        "RobotCommandStatusEnum": "robots.models.RobotCommand.Status",
        "TrainingSessionStatusEnum": "training.models.TrainingSession.Status",
        "EpisodeStatusEnum": "training.models.Episode.Status",
        "DatasetExportStatusEnum": "training.models.DatasetExport.Status",
        "PostureAnalysisStatusEnum": "posture.models.PostureAnalysis.Status",
    },
}

# --- robots -----------------------------------------------------------------------------------
ROBOT_COMMAND_TIMEOUT = env.int("ROBOT_COMMAND_TIMEOUT", default=30)
MAX_ROBOT_CONNECTIONS = env.int("MAX_ROBOT_CONNECTIONS", default=10)
# A connected robot whose socket has not reported for this long is taken offline by the sweep.
ROBOT_OFFLINE_AFTER = env.int("ROBOT_OFFLINE_AFTER", default=30)
# Ticks a second at which each process fans out robot state (see docs/robot-protocol.md).
ROBOT_STATE_PUBLISH_HZ = env.float("ROBOT_STATE_PUBLISH_HZ", default=10.0)

# --- training ---------------------------------------------------------------------------------
# Frames per API batch (JSON or binary) and per stored chunk (live recording flushes, videos).
TRAINING_MAX_BATCH_FRAMES = env.int("TRAINING_MAX_BATCH_FRAMES", default=5000)
TRAINING_CHUNK_FRAMES = env.int("TRAINING_CHUNK_FRAMES", default=1000)
# Live recording stores its detected frames every this many frames (and when an episode stops).
TRAINING_LIVE_FLUSH_FRAMES = env.int("TRAINING_LIVE_FLUSH_FRAMES", default=30)
TRAINING_VIDEO_MAX_BYTES = env.int("TRAINING_VIDEO_MAX_BYTES", default=500 * 1024 * 1024)
# Exports are written here (local disk) before the finished archive is saved to storage.
TRAINING_EXPORT_WORK_DIR = env.path("TRAINING_EXPORT_WORK_DIR", default=VAR_DIR / "exports-work")
TRAINING_EXPORT_FILE_MB = env.float("TRAINING_EXPORT_FILE_MB", default=100.0)

# --- posture ----------------------------------------------------------------------------------
# Pose models by name (posture/estimators): MediaPipe ships in its wheel; MMPose models are added
# with POSE_MODELS_EXTRA, a JSON object, e.g. {"cx": {"backend": "mmpose", "config": "...",
# "checkpoint": "...", "device": "cuda"}}.
POSE_MODELS = {"mediapipe": {"backend": "mediapipe"}, **env.json("POSE_MODELS_EXTRA", default={})}
DEFAULT_POSE_MODEL = env.str("DEFAULT_POSE_MODEL", default="mediapipe")
POSTURE_MAX_IMAGE_BYTES = env.int("POSTURE_MAX_IMAGE_BYTES", default=10 * 1024 * 1024)
POSTURE_MAX_VIDEO_BYTES = env.int("POSTURE_MAX_VIDEO_BYTES", default=500 * 1024 * 1024)

# --- user event stream ------------------------------------------------------------------------
# Events kept per group (a user, an organisation) so a reconnecting client can resume.
EVENT_LOG_LENGTH = env.int("EVENT_LOG_LENGTH", default=1000)
EVENT_LOG_TTL = env.int("EVENT_LOG_TTL", default=24 * 3600)

# --- sockets ----------------------------------------------------------------------------------
WS_MAX_MESSAGE_BYTES = env.int("WS_MAX_MESSAGE_BYTES", default=1024 * 1024)

# --- email ------------------------------------------------------------------------------------
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = env.path("EMAIL_FILE_PATH", default=VAR_DIR / "mail")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Physical AI Platform <noreply@localhost>")
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:  # e.g. smtp+tls://user:password@mail.example.com:587
    globals().update(env.email_url_config(EMAIL_URL))

# --- audit ------------------------------------------------------------------------------------
AUDIT_LOG_RETENTION_DAYS = env.int("AUDIT_LOG_RETENTION_DAYS", default=365)

# --- i18n -------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- security (tightened further in production) -----------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.server": {"level": "WARNING"}},
}

# Check every configured server when the ASGI app starts (config/asgi.py).
STARTUP_SERVICE_CHECK = env.bool("STARTUP_SERVICE_CHECK", default=True)
