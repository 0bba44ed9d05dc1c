"""Django settings. Every knob a user turns is an environment variable prefixed LEADFLOW_.

Defaults work on a bare machine: SQLite under ./var, e-mail written to files there, a
secret key generated once and kept in ./var/secret_key.
"""

import os
import secrets
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlparse

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("LEADFLOW_DATA_DIR", "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    if key := os.environ.get("LEADFLOW_SECRET_KEY"):
        return key
    # A key generated on first start and kept beside the data, so sessions survive restarts
    # without anyone having to invent a secret to try the product.
    path = DATA_DIR / "secret_key"
    try:
        # Created owner-only and exclusively: two processes starting at once agree on one key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    for _ in range(50):  # another process may be between creating the file and writing it
        if key := path.read_text().strip():
            return key
        time.sleep(0.02)
    raise RuntimeError(f"{path} is empty: delete it, or set LEADFLOW_SECRET_KEY")


SECRET_KEY = _secret_key()
DEBUG = _env_bool("LEADFLOW_DEBUG", False)
PUBLIC_URL = os.environ.get("LEADFLOW_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# The public URL's host and loopback by default, so a forged Host header cannot steer the
# links Leadflow puts in emails; add the names you serve under in LEADFLOW_ALLOWED_HOSTS.
ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get(
        "LEADFLOW_ALLOWED_HOSTS",
        f"{urlparse(PUBLIC_URL).hostname},localhost,127.0.0.1,[::1]",
    ).split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [PUBLIC_URL]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "leadflow.accounts",
    "leadflow.contacts",
    "leadflow.capture",
    "leadflow.acquisition",
    "leadflow.qualification",
    "leadflow.nurture",
    "leadflow.sales",
    "leadflow.insights",
    "leadflow.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "leadflow.accounts.middleware.LoginRequiredMiddleware",
]

ROOT_URLCONF = "leadflow.urls"
WSGI_APPLICATION = "leadflow.wsgi.application"

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
                "leadflow.accounts.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("LEADFLOW_DATABASE_URL") or f"sqlite:///{DATA_DIR / 'leadflow.sqlite3'}",
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; IMMEDIATE transactions make
    # writers queue for the lock instead of failing half-way with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
        ),
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "contacts:list"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

REDIS_URL = os.environ.get("LEADFLOW_REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    # The database cache is shared by every web process and worker, so throttles and
    # rate limits hold across processes without another service to run.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "leadflow_cache",
        }
    }

TASKS = {
    "default": {
        "BACKEND": os.environ.get("LEADFLOW_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("LEADFLOW_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# The project's own static files (the app's CSS and JS, vendored htmx); apps keep theirs.
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the app folders too, so a fresh checkout works before collectstatic.
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "media"

EMAIL_URL = os.environ.get("LEADFLOW_EMAIL_URL", "")
if EMAIL_URL:
    _email = urlparse(EMAIL_URL)
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _email.hostname or "localhost"
    EMAIL_PORT = _email.port or 25
    EMAIL_HOST_USER = unquote(_email.username or "")
    EMAIL_HOST_PASSWORD = unquote(_email.password or "")
    EMAIL_USE_TLS = _email.scheme in {"smtp+tls", "submission"}
    EMAIL_USE_SSL = _email.scheme == "smtps"
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = DATA_DIR / "mail"
# Phone numbers typed without a country code are read as numbers of this region (ISO 3166).
PHONE_REGION = os.environ.get("LEADFLOW_PHONE_REGION", "US").upper()
DEFAULT_FROM_EMAIL = os.environ.get("LEADFLOW_FROM_EMAIL", "leadflow@localhost")

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads it to send X-CSRFToken
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = PUBLIC_URL.startswith("https://")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

# A wrong password is throttled per username and per address (see accounts.views).
LOGIN_RATE = os.environ.get("LEADFLOW_LOGIN_RATE", "5/m")
RATELIMIT_VIEW = "leadflow.accounts.views.rate_limited"

# Public form endpoints: per visitor address, and per form (a spam burst from many addresses).
CAPTURE_RATE_PER_IP = os.environ.get("LEADFLOW_CAPTURE_RATE_PER_IP", "20/m")
CAPTURE_RATE_PER_FORM = os.environ.get("LEADFLOW_CAPTURE_RATE_PER_FORM", "600/m")
INBOUND_RATE_PER_SOURCE = os.environ.get("LEADFLOW_INBOUND_RATE_PER_SOURCE", "1200/m")

# The tracking endpoint: events per visitor address per process ("" turns the limit off).
TRACKING_RATE_PER_IP = os.environ.get("LEADFLOW_TRACKING_RATE_PER_IP", "120/minute")
TRACKING_MAX_BODY_BYTES = 16 * 1024
# The tracking INSERT commits without waiting for the WAL flush (capture/tracking.py,
# docs/benchmarks.md): a database crash may lose the last ~0.6 s of page views. 1 waits.
TRACKING_SYNCHRONOUS_COMMIT = _env_bool("LEADFLOW_TRACKING_SYNCHRONOUS_COMMIT", False)

NINJA_PAGINATION_MAX_LIMIT = 500

# Imports (acquisition/jobs.py). An upload streams to disk under DATA_DIR/imports, so the
# limit is about disk, not memory. A running import whose worker has written no heartbeat
# for IMPORT_STALLED_AFTER is taken for dead and run again, at most IMPORT_MAX_ATTEMPTS times.
IMPORT_MAX_UPLOAD_BYTES = int(os.environ.get("LEADFLOW_IMPORT_MAX_UPLOAD_MB", "2048")) * 1024**2
IMPORT_STALLED_AFTER = timedelta(
    seconds=int(os.environ.get("LEADFLOW_IMPORT_STALLED_AFTER_SECONDS", "300"))
)
IMPORT_MAX_ATTEMPTS = int(os.environ.get("LEADFLOW_IMPORT_MAX_ATTEMPTS", "3"))
# An upload left at the mapping review this long is cancelled and its file deleted.
IMPORT_DRAFT_EXPIRES_AFTER = timedelta(
    hours=int(os.environ.get("LEADFLOW_IMPORT_DRAFT_EXPIRES_HOURS", "24"))
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LEADFLOW_LOG_LEVEL", "WARNING")},
    "loggers": {
        "leadflow": {"level": os.environ.get("LEADFLOW_LOG_LEVEL", "INFO")},
        "django.tasks": {"level": "WARNING"},
    },
}
