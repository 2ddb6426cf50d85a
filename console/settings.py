"""Base settings: every value comes from the environment (console/env.py) with a working default.

Defaults run the whole console on one machine with nothing installed: SQLite under var/, an embedded
Redis on a unix socket under var/, the paper gateway on 127.0.0.1:4002, paper mode, trading disabled.
Production: DJANGO_SETTINGS_MODULE=console.settings_production (see README "Deploy").
"""

from datetime import timedelta
from pathlib import Path

from console.env import (
    ConfigError,
    database_config,
    env_bool,
    env_choice,
    env_clock_time,
    env_int,
    env_list,
    env_str,
    env_urls,
    env_zone,
    redis_url,
    sqlite_fork_guard,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CONSOLE_VAR_DIR") or BASE_DIR / "var")
VAR_DIR.mkdir(parents=True, exist_ok=True)  # SQLite file, embedded Redis socket, gateway state, logs

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ConfigError("SECRET_KEY must be set when DEBUG is off")
    SECRET_KEY = "dev-only-insecure-key-set-SECRET_KEY-in-production"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "trading.auth.apps.ConsoleAdminConfig",  # django.contrib.admin, on a site that knows the second factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_q",
    "ninja",  # serves the Swagger UI assets for /api/docs itself (no CDN)
    "trading",
    "trading.auth",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # admin/dashboard static files from the web process
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "trading.auth.middleware.TwoFactorRequiredMiddleware",  # REQUIRE_2FA: staff verify before anything else
    "django.contrib.messages.middleware.MessageMiddleware",
    "trading.clock.DisplayZoneMiddleware",  # admin and pages render times in the display zone
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into the locked-out page
]

ROOT_URLCONF = "console.urls"
WSGI_APPLICATION = None
ASGI_APPLICATION = "console.asgi.application"

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
            ],
        },
    },
]

CONSOLE_PREFIX = env_str("CONSOLE_PREFIX", "console")  # namespaces Redis keys (tests use their own)
DATABASES = {
    "default": database_config(env_str("DATABASE_URL"), sqlite_path=VAR_DIR / "console.sqlite3", pool=env_bool("DB_POOL", False))
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    sqlite_fork_guard()  # django-q2 forks: a child never writes through a connection it inherited
    # One test database per test process (CONSOLE_PREFIX is per-process under pytest).
    DATABASES["default"]["TEST"]["NAME"] = str(VAR_DIR / f"{CONSOLE_PREFIX}-test.sqlite3")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One Redis for the Channels layer and the django-q2 broker: REDIS_URL, or the embedded one.
REDIS_URL = redis_url(env_str("REDIS_URL"), var_dir=VAR_DIR)
REDIS_EMBEDDED = not env_str("REDIS_URL")

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "console.channel_layer.RedisChannelLayer",  # channels_redis's, its send in one round trip
        # Receives block up to 5 s (BZPOPMIN): the socket timeout must be longer than that.
        # A dashboard socket may fall 1,000 messages behind before pushes to it are dropped (it then
        # sees a gap in the events' seq and resyncs from a snapshot).
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
            "prefix": f"{CONSOLE_PREFIX}:asgi",
            "capacity": 1000,
        },
    }
}

Q_CLUSTER = {
    "name": CONSOLE_PREFIX,
    "workers": env_int("Q_WORKERS", 2, minimum=1, maximum=32),
    "timeout": 600,
    "retry": 660,
    "max_attempts": 1,  # an intent run is never retried behind the trader's back
    "catch_up": False,  # a schedule missed while down does not fire late
    "redis": REDIS_URL,
    "orm": None,
    "label": "Task queue",
    "ack_failures": True,
    # q2 keeps every task record; trading/taskrecords.py prunes the successes to the newest 250 in one
    # DELETE a minute (q2's own pruning reads all 250 at every save, holding SQLite's write lock).
    "save_limit": 0,
    # Cron schedules are read in this zone (the seed's daily orchestrator runs at 16:15 New York time).
    "time_zone": env_zone("SCHEDULE_TIME_ZONE", "America/New_York"),
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"

# Sign-in (trading/auth/): every login form is throttled by django-axes. LOGIN_FAILURE_LIMIT failures
# for one username from one address lock that pair out for LOGIN_LOCKOUT_MINUTES (a 429 page; the
# lockout is listed in the admin and written to the activity log). API tokens are not a login form.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1, maximum=1000)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1, maximum=7 * 24 * 60))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "trading.auth.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "trading.auth.lockout.client_ip"
AXES_VERBOSE = False  # no start-up banner: `ibworker` and `up` refusals stay one line; lockouts go to the activity log
LOGIN_PROXY_COUNT = env_int("LOGIN_PROXY_COUNT", 0, minimum=0, maximum=10)  # reverse proxies in front of daphne
# Staff must verify a TOTP device (django-otp) on the admin and the dashboard when this is on.
REQUIRE_2FA = env_bool("REQUIRE_2FA", False)
OTP_TOTP_ISSUER = "IB trading console"
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # nobody reads another user's TOTP secret in the admin; set up on /dashboard/two-factor/

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
# The zone people read times and cut days in until the common trading setting names one (trading/clock.py);
# a new install writes it there (migration 0007). Storage stays UTC.
DISPLAY_TIME_ZONE = env_zone("DISPLAY_TIME_ZONE", "America/New_York")
# Equity snapshots (trading/performance/equity.py): the worker's cadence, and how many days keep minute points.
EQUITY_SNAPSHOT_SECONDS = env_int("EQUITY_SNAPSHOT_SECONDS", 60, minimum=5, maximum=3600)
EQUITY_MINUTE_DAYS = env_int("EQUITY_MINUTE_DAYS", 7, minimum=1, maximum=366)
# The worker lets go of ib_insync's done orders and fills this long after they are recorded (trading/worker/retention.py).
RETAIN_DONE_MINUTES = env_int("RETAIN_DONE_MINUTES", 10, minimum=1, maximum=1440)
# ...and at most this many of the newest done orders (and fills), whatever their age.
RETAIN_DONE_MAX = env_int("RETAIN_DONE_MAX", 200, minimum=0, maximum=100_000)
USE_I18N = True
USE_TZ = True

# Notifications (trading/notify/, docs/NOTIFICATIONS.md): apprise URLs that get every event kind, with no
# admin step; how long the worker may stay disconnected before anyone is told; the daily summary's time
# of day in DISPLAY_TIME_ZONE ("off" for none).
NOTIFY_URLS = env_urls("NOTIFY_URLS")
NOTIFY_DISCONNECT_SECONDS = env_int("NOTIFY_DISCONNECT_SECONDS", 120, minimum=10, maximum=86400)
NOTIFY_DAILY_SUMMARY_AT = env_clock_time("NOTIFY_DAILY_SUMMARY_AT", "17:00")

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Without collectstatic (dev, demo) WhiteNoise serves straight from the app folders.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Interactive Brokers ---
TRADING_MODE = env_choice("TRADING_MODE", "paper", ("paper", "live"))
IB_HOST = env_str("IB_HOST", "127.0.0.1")
IB_PORT = env_int("IB_PORT", 4002, minimum=1, maximum=65535)
IB_CLIENT_ID = env_int("IB_CLIENT_ID", 1, minimum=0, maximum=2**31 - 1)
IB_ACCOUNT = env_str("IB_ACCOUNT")
IB_DAEMON_HANDLERS = env_str("IB_DAEMON_HANDLERS")  # read by trading.handlers (Django-free) itself too
INTENT_PATHS = env_str("INTENT_PATHS")  # user intent files/folders; default: the top-level intents/ folder
# A real gateway is configured when IB_HOST or IB_PORT is given; otherwise `up` starts the paper gateway.
IB_GATEWAY_CONFIGURED = bool(env_str("IB_HOST") or env_str("IB_PORT"))
WORKER_HEARTBEAT_MAX_AGE = env_int("WORKER_HEARTBEAT_MAX_AGE", 15, minimum=1)
# The worker's own Prometheus /metrics (trading/observability/): off unless a port is given; loopback only
# unless METRICS_HOST says otherwise (an API token is needed from anywhere but localhost either way).
METRICS_PORT = env_int("METRICS_PORT", 0, minimum=0, maximum=65535)
METRICS_HOST = env_str("METRICS_HOST", "127.0.0.1")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "null": {"class": "logging.NullHandler"},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    # Notification URLs are secrets (trading/notify/): apprise names whole URLs in its messages, so they go
    # nowhere but the sender's capture, which scrubs them; urllib3 logs request paths (a Telegram bot token
    # is in the path) at DEBUG, so it stays at WARNING even with LOG_LEVEL=DEBUG.
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "apprise": {"level": "WARNING", "handlers": ["null"], "propagate": False},
        "urllib3": {"level": "WARNING"},
    },
}
