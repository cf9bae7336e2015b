"""Production: behind TLS, secret key from the environment, secure cookies.

`bienestar check --deploy --settings=bienestar.config.settings.prod` must be clean.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from bienestar.config.settings.base import *  # noqa: F403

DEBUG = False
if not (os.environ.get("BIENESTAR_SECRET_KEY") or os.environ.get("SECRET_KEY")):
    raise ImproperlyConfigured(
        "Set BIENESTAR_SECRET_KEY (at least 50 random characters) in production."
    )
SECURE_SSL_REDIRECT = os.environ.get("BIENESTAR_SSL_REDIRECT", "1") == "1"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
