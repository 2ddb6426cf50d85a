"""Production settings: base settings plus the hardening `manage.py check --deploy` asks for.

SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL and REDIS_URL must come from the environment; TLS is
terminated by a reverse proxy that sets X-Forwarded-Proto.
"""

import os

os.environ.setdefault("DEBUG", "false")

from console.env import ConfigError, env_bool, env_int, env_str  # noqa: E402
from console.settings import *  # noqa: E402,F403

if DEBUG:  # noqa: F405
    raise ConfigError("DEBUG must be off in production settings")
for required in ("SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"):
    if not env_str(required):
        raise ConfigError(f"{required} must be set for production")

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
X_FRAME_OPTIONS = "DENY"
