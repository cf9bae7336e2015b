"""Settings shared by every environment. Everything that differs comes from the environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from bienestar.config.database import database_settings, replica_settings
from bienestar.config.home import bienestar_home

PACKAGE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    configured = os.environ.get("BIENESTAR_SECRET_KEY") or os.environ.get("SECRET_KEY")
    if configured:
        return configured
    key_file = bienestar_home() / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(64))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("BIENESTAR_DEBUG", False)
ALLOWED_HOSTS = [
    h
    for h in os.environ.get("BIENESTAR_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")
    if h
]
CSRF_TRUSTED_ORIGINS = [
    o for o in os.environ.get("BIENESTAR_CSRF_TRUSTED_ORIGINS", "").split(",") if o
]
DEMO_MODE = env_bool("BIENESTAR_DEMO", False)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.postgres",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    "procrastinate.contrib.django",
    "bienestar.core",
    "bienestar.access",
    "bienestar.territories",
    "bienestar.facilities",
    "bienestar.workforce",
    "bienestar.terminology",
    "bienestar.people",
    "bienestar.households",
    "bienestar.clinical",
    "bienestar.inventory",
    "bienestar.prescribing",
    "bienestar.outreach",
    "bienestar.scheduling",
    "bienestar.referrals",
    "bienestar.fhir",
    "bienestar.fhir.bulk",
    "bienestar.reference",
    "bienestar.synth",
    "bienestar.indicators",
    "bienestar.web",
    "bienestar.ops",
    "bienestar.jobs",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "bienestar.core.db_routing.ReadScopeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "bienestar.access.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "bienestar.access.middleware.InactivityLogoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "bienestar.config.urls"
WSGI_APPLICATION = "bienestar.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    }
]

DATABASES = {"default": database_settings(), **replica_settings()}
# Read replica (ADR 0010): only selectors marked lag-tolerant read from it; a browser that wrote
# reads from the primary for this many seconds after.
DATABASE_ROUTERS = ["bienestar.core.db_routing.ReplicaRouter"]
BIENESTAR_REPLICA_PIN_SECONDS = int(os.environ.get("BIENESTAR_REPLICA_PIN_SECONDS", "10"))
# Partitioned tables (ADR 0013): months older than this are archived to BIENESTAR_ARCHIVE_DIR by
# `bienestar partitions archive`. NOM-004 asks at least 5 years; Colombia (Res. 839/2017) 15.
BIENESTAR_RETENTION_YEARS = int(os.environ.get("BIENESTAR_RETENTION_YEARS", "5"))
BIENESTAR_ARCHIVE_DIR = Path(
    os.environ.get("BIENESTAR_ARCHIVE_DIR") or bienestar_home() / "archive"
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "access.User"
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
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Automatic log-off: a session lasts this many seconds after the last request.
SESSION_COOKIE_AGE = int(os.environ.get("BIENESTAR_SESSION_IDLE_SECONDS", "900"))
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
INACTIVITY_LOGOUT_SECONDS = SESSION_COOKIE_AGE

# Rate-limited log-in (django-axes): lock a username+address after 5 failures for 15 minutes.
AXES_FAILURE_LIMIT = int(os.environ.get("BIENESTAR_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "access/locked_out.html"
AXES_VERBOSE = False

LANGUAGE_CODE = "es"
LANGUAGES = [("es", _("Español")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = os.environ.get("BIENESTAR_TIME_ZONE", "America/Mexico_City")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = bienestar_home() / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# No personal data in logs: application loggers only log identifiers that are not personal
# (opaque ids, counts); request bodies and query strings are never logged.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("BIENESTAR_LOG_LEVEL", "WARNING")},
    "loggers": {
        # django.request logs the full path (which may hold a CURP in a query string) on 4xx.
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "django.server": {"handlers": [], "level": "ERROR", "propagate": False},
        "axes": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}

NINJA_PAGINATION_PER_PAGE = 50

# Background jobs (ADR 0009): Procrastinate on this same PostgreSQL, tasks in each app's tasks.py.
from bienestar.jobs.conf import *  # noqa: E402, F403

# Outreach (issue 12): FINDRISC score from which a referral is made (12 or 13 in Colombian studies).
OUTREACH_FINDRISC_REFERRAL_CUTOFF = int(os.environ.get("BIENESTAR_FINDRISC_REFERRAL_CUTOFF", "12"))
