"""
Settings for the Back Office, configured from the environment.

Every value an operator may need to change is read from an environment variable
here and nowhere else; see README.md ("Configuration") for the list.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent
VAR_DIR = Path(os.environ.get("BACKOFFICE_VAR_DIR", PROJECT_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")
TESTING = env_bool("BACKOFFICE_TESTING")

# The key comes from the environment; a checkout where `make demo` ran keeps
# its own random key in var/secret_key, which management commands use too.
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY and (VAR_DIR / "secret_key").is_file():
    SECRET_KEY = (VAR_DIR / "secret_key").read_text().strip()
if not SECRET_KEY:
    if DEBUG or TESTING:
        SECRET_KEY = "insecure-development-key-never-use-in-production-0123456789"
    else:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set it in the environment (make demo keeps one in var/secret_key)."
        )

# Keys for registration codes (DESIGN §3): the digest key makes codes
# findable by a keyed hash, the encryption key protects the displayed copy.
# Both default to keys derived from SECRET_KEY; set them to rotate separately.
CODE_DIGEST_KEY = os.environ.get("CODE_DIGEST_KEY", "")
CODE_ENCRYPTION_KEY = os.environ.get("CODE_ENCRYPTION_KEY", "")
# Two-factor secrets (authenticator keys, recovery-code seeds) are stored
# encrypted with this key (default: derived from SECRET_KEY).
TWO_FACTOR_ENCRYPTION_KEY = os.environ.get("TWO_FACTOR_ENCRYPTION_KEY", "")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    # Accounts: sign-in, password reset, two-factor sign-in (TOTP, recovery
    # codes, passkeys) and the list of a user's sessions (docs/accounts.md).
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "backoffice.core",
    "backoffice.tenancy",
    "backoffice.organization",
    "backoffice.licensing",
    "backoffice.devices",
    "backoffice.device_api",
    "backoffice.auditlog",
    "backoffice.imports",
    "backoffice.documents",
    "backoffice.invitations",
    "backoffice.audit",
    "backoffice.notifications",
    "backoffice.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "backoffice.device_api.middleware.DeviceApiMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "backoffice.tenancy.middleware.CompanyScopeMiddleware",
    "backoffice.tenancy.middleware.TwoFactorRequiredMiddleware",
]

ROOT_URLCONF = "backoffice.urls"
WSGI_APPLICATION = "backoffice.wsgi.application"

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
                "backoffice.tenancy.context_processors.tenancy",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'backoffice.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
# PostgreSQL's JIT compiles a statement when its estimated cost is high,
# which a company's report or page reaches once the database holds many
# companies: 60 ms of compiling for a 30 ms statement (docs/benchmarks.md,
# "Many companies"). The Back Office's statements are short: off, unless
# DATABASE_JIT=1. Added to whatever options the URL gave.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and os.environ.get("DATABASE_JIT", "0") != "1":
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = " ".join(filter(None, [_options.get("options", ""), "-c jit=off"]))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000;"
        ),
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "tenancy.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "devices:active"
LOGOUT_REDIRECT_URL = "account_login"

# Accounts (django-allauth; docs/accounts.md). Users sign in with their email
# address; nobody signs up: a company's administrator invites people
# (backoffice.invitations). A password reset answers the same whether or not
# an account has the address. Failed passwords are limited by the exact
# limiter below (tenancy.sign_in), not by allauth's own counters; allauth's
# limits stay for two-factor codes and for reset emails.
ACCOUNT_ADAPTER = "backoffice.tenancy.sign_in.AccountAdapter"
ACCOUNT_FORMS = {
    "login": "backoffice.tenancy.forms.SignInForm",
    "reset_password": "backoffice.tenancy.forms.ResetPasswordRequestForm",
    "reset_password_from_key": "backoffice.tenancy.forms.PasswordResetKeyForm",
    "change_password": "backoffice.tenancy.forms.PasswordChangeForm",
    "reauthenticate": "backoffice.tenancy.forms.PasswordConfirmForm",
}
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_SESSION_REMEMBER = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_PASSWORD_RESET_TOKEN_GENERATOR = "allauth.account.forms.EmailAwarePasswordResetTokenGenerator"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "ReconPro Back Office: "
ACCOUNT_RATE_LIMITS: dict[str, str | bool] = {
    # Sign-in attempts: the exact limiter of failed ones (tenancy.sign_in) instead.
    "login": False,
    # Wrong two-factor codes (allauth counts them under this name): as for passwords.
    "login_failed": "{per_address}/{window}s/ip,{per_account}/{window}s/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "reauthenticate": "10/m/ip",
}
PASSWORD_RESET_TIMEOUT = int(os.environ.get("PASSWORD_RESET_TIMEOUT", str(3 * 60 * 60)))
MFA_ADAPTER = "backoffice.tenancy.sign_in.TwoFactorAdapter"
MFA_FORMS = {
    "add_webauthn": "backoffice.tenancy.forms.PasskeyAddForm",
    "edit_webauthn": "backoffice.tenancy.forms.PasskeyRenameForm",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = os.environ.get("MFA_TOTP_ISSUER", "ReconPro Back Office")
# Passkeys are bound to the site's host name; plain http is allowed only on
# a developer's machine, in the demo and in tests.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG or TESTING or env_bool("DEMO")
# Operators (staff users) need a second factor on /admin/, except in the demo
# (and in tests, which switch it on where they test it).
OPERATOR_TWO_FACTOR_REQUIRED = env_bool("OPERATOR_TWO_FACTOR_REQUIRED", not (env_bool("DEMO") or TESTING))
# Sessions are recorded when they sign in; following each request would write on every page view.
USERSESSIONS_TRACK_ACTIVITY = False

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The cache holds one thing: each device's configuration ETag for check-ins,
# keyed by a fingerprint of its settings, so a copy can only be stale by its
# expiry (CONFIG_ETAG_CACHE_SECONDS) for employee and client changes, in any
# process. Several app servers share it through Redis (CACHE_URL); without
# one it is each process's own memory, which costs no query: the database
# cache ran SELECT COUNT(*) on every write and never removed expired rows.
# Rate-limit counters, sessions and queued email are never in the cache.
REDIS_CACHE_SCHEMES = ("redis://", "rediss://", "unix://")


def cache_from_env(url: str) -> dict:
    """The default cache: Redis when CACHE_URL names one, else each process's memory."""
    if not url:
        return {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "backoffice",
            "OPTIONS": {"MAX_ENTRIES": int(os.environ.get("CACHE_MAX_ENTRIES", "100000"))},
        }
    if not url.startswith(REDIS_CACHE_SCHEMES):
        raise ImproperlyConfigured(f"CACHE_URL must start with one of {', '.join(REDIS_CACHE_SCHEMES)} (or be empty).")
    return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}


CACHES = {"default": cache_from_env(os.environ.get("CACHE_URL", "").strip())}


def redis_url_from_env(name: str) -> str:
    """
    A Redis URL setting: the variable ``name``, else CACHE_URL when that names
    Redis, else empty; "none" is empty too. Any other scheme is refused.
    """
    value = os.environ.get(name, "").strip()
    if value == "none":
        return ""
    if value:
        if not value.startswith(REDIS_CACHE_SCHEMES):
            raise ImproperlyConfigured(f"{name} must start with one of {', '.join(REDIS_CACHE_SCHEMES)}.")
        return value
    cache_url = os.environ.get("CACHE_URL", "").strip()
    return cache_url if cache_url.startswith(REDIS_CACHE_SCHEMES) else ""


# Rate-limit counters (core.ratelimit): in Redis when this names one (INCR and
# EXPIRE in one Lua script), else in the core_ratelimitcounter table (one
# INSERT … ON CONFLICT DO UPDATE … RETURNING statement). Defaults to CACHE_URL
# when that names Redis; set it to "none" to keep counters in the database.
RATE_LIMIT_REDIS_URL = redis_url_from_env("RATE_LIMIT_REDIS_URL")

# Company generations (core.generations): one counter per company in Redis,
# bumped after every committed change of a device, credential, team, license,
# area or company, so that the device API may keep credentials in each
# process's memory and still refuse a revoked one at once on every process.
# Defaults to CACHE_URL when that names Redis; "none" (or no Redis) turns the
# counters, and with them the credential cache, off.
GENERATIONS_REDIS_URL = redis_url_from_env("GENERATIONS_REDIS_URL")
# How long a request waits for Redis before it reads the database instead.
GENERATIONS_REDIS_TIMEOUT_SECONDS = float(os.environ.get("GENERATIONS_REDIS_TIMEOUT_SECONDS", "0.5"))
# Pushed generations (core.generations, "Pushed generations"): each process
# that reads generations keeps them in memory from a Redis subscription, and
# a committed change answers only once every live process applied its bump
# (or its lease ran out, after which that process reads Redis again). "0"
# reads the counters from Redis on every call instead.
GENERATIONS_PUSH = env_bool("GENERATIONS_PUSH", True)
# A process's lease: how long its copy of the generations serves after its
# subscription last proved itself (a tick it sent came back), and the longest
# a change waits for a process that stopped answering.
GENERATIONS_PUSH_LEASE_SECONDS = float(os.environ.get("GENERATIONS_PUSH_LEASE_SECONDS", "1.0"))

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# Email: the outbox worker sends through the default mailer (DESIGN §1).
# EMAIL_BACKEND=smtp (the production default) sends through EMAIL_HOST; "file"
# (the default with DEBUG, in tests and in the demo) writes each email under
# var/mail/; "console" prints it.
_EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "file" if DEBUG or TESTING else "smtp")
if _EMAIL_BACKEND == "smtp":
    _mailer = {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": os.environ.get("EMAIL_HOST", "localhost"),
            "port": int(os.environ.get("EMAIL_PORT", "25")),
            "username": os.environ.get("EMAIL_HOST_USER", ""),
            "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS"),
            "use_ssl": env_bool("EMAIL_USE_SSL"),
            "timeout": int(os.environ.get("EMAIL_TIMEOUT", "10")),
        },
    }
elif _EMAIL_BACKEND == "console":
    _mailer = {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
elif _EMAIL_BACKEND == "locmem":
    _mailer = {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
else:
    _mailer = {
        "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "OPTIONS": {"file_path": os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))},
    }
MAILERS = {"default": _mailer}
# Resend of a registration email: at most this many per device and per
# company in an hour (an administrator cannot relay unlimited email).
RESEND_PER_DEVICE_PER_HOUR = int(os.environ.get("RESEND_PER_DEVICE_PER_HOUR", "5"))
RESEND_PER_COMPANY_PER_HOUR = int(os.environ.get("RESEND_PER_COMPANY_PER_HOUR", "100"))
# Invitations of Back Office users: how long a link stays valid, and the
# address of the Back Office that their links start with.
INVITATION_VALID_HOURS = int(os.environ.get("INVITATION_VALID_HOURS", "72"))
PUBLIC_BASE_URL = os.environ.get(
    "PUBLIC_BASE_URL", "http://localhost:8000" if DEBUG or TESTING else f"https://{(ALLOWED_HOSTS or ['localhost'])[0]}"
).rstrip("/")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "ReconPro Back Office <no-reply@backoffice.local>")

# Proxies whose X-Forwarded-For is believed (comma-separated addresses).
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")

# Sign-in (the Back Office's /login/ and the operators' /admin/login/):
# failed attempts are limited per account (the address typed, whether or not
# it belongs to anyone) and per client network, with the device API's exact
# limiter (core.ratelimit). A success gives its slot back. docs/security.md.
SIGN_IN_FAILED_PER_ACCOUNT = int(os.environ.get("SIGN_IN_FAILED_PER_ACCOUNT", "10"))
SIGN_IN_FAILED_PER_ADDRESS = int(os.environ.get("SIGN_IN_FAILED_PER_ADDRESS", "30"))
SIGN_IN_WINDOW_SECONDS = int(os.environ.get("SIGN_IN_WINDOW_SECONDS", "900"))
ACCOUNT_RATE_LIMITS["login_failed"] = str(ACCOUNT_RATE_LIMITS["login_failed"]).format(
    per_address=SIGN_IN_FAILED_PER_ADDRESS, per_account=SIGN_IN_FAILED_PER_ACCOUNT, window=SIGN_IN_WINDOW_SECONDS
)

# Registration codes and the device API (DESIGN §3; the arithmetic is in
# docs/security.md and pinned by tests/device_api/test_rate_limits.py).
# Failed redemptions are limited per client network (an IPv4 address or an
# IPv6 /64) only: there is no limit shared by all clients, which an attacker
# could exhaust to lock every company out. With 12-character codes (20**12),
# REGISTRATION_ATTACKER_NETWORKS networks each failing
# REGISTRATION_FAILED_PER_ADDRESS times per window guess any of up to
# registration_live_codes_bound() live codes (130,208 with these values) with
# a chance <= 2**-20 per window. Live codes are bounded per company by its
# licenses (one device per license, one open code per device), never counted
# across companies.
REGISTRATION_FAILED_PER_ADDRESS = int(os.environ.get("REGISTRATION_FAILED_PER_ADDRESS", "3"))
# A refused redemption of a known code (used, expired, replaced) is no guess:
# it is charged to that code, up to this many per window, not to the network.
REGISTRATION_FAILED_PER_CODE = int(os.environ.get("REGISTRATION_FAILED_PER_CODE", "10"))
# A redemption whose network's remaining allowance is all held by attempts
# still in flight waits up to this long for one of them to finish.
REGISTRATION_BUSY_WAIT_SECONDS = float(os.environ.get("REGISTRATION_BUSY_WAIT_SECONDS", "5"))
REGISTRATION_RATE_WINDOW_SECONDS = int(os.environ.get("REGISTRATION_RATE_WINDOW_SECONDS", "900"))
# The threat model's attacker (not a limit): how many networks the budget is computed for.
REGISTRATION_ATTACKER_NETWORKS = int(os.environ.get("REGISTRATION_ATTACKER_NETWORKS", "10000"))
# Accept the 10-character codes issued before codes grew to 12 characters.
# They expire within 7 days of the upgrade; turn this off then (see docs/security.md).
REGISTRATION_ACCEPT_LEGACY_CODES = env_bool("REGISTRATION_ACCEPT_LEGACY_CODES", True)
# A check-in writes the device row only when a reported field changed or the
# stored last check-in is older than this: last-seen has this resolution.
CHECK_IN_WRITE_INTERVAL_SECONDS = int(os.environ.get("CHECK_IN_WRITE_INTERVAL_SECONDS", "60"))
# The check-in history keeps every reported change and at most one sample of
# an unchanged device per this many minutes, for this many days.
CHECK_IN_HISTORY_SAMPLE_MINUTES = int(os.environ.get("CHECK_IN_HISTORY_SAMPLE_MINUTES", "60"))
CHECK_IN_HISTORY_RETENTION_DAYS = int(os.environ.get("CHECK_IN_HISTORY_RETENTION_DAYS", "90"))
# With Redis (GENERATIONS_REDIS_URL), a check-in that only moves last-seen is
# kept in Redis and written in batches by the outbox worker (every pass)
# instead of one UPDATE per check-in; 0 writes every check-in at once.
CHECK_IN_BUFFER = env_bool("CHECK_IN_BUFFER", True)
# Each process first keeps its buffered check-ins in memory and hands them to
# Redis in one round trip this often (Fleet's way); 0 hands each at once. A
# process that dies loses at most this long of last-seen times, never data a
# user saved.
CHECK_IN_LOCAL_FLUSH_SECONDS = float(os.environ.get("CHECK_IN_LOCAL_FLUSH_SECONDS", "0.5"))
# Audit events are kept this long (two years by default), then pruned by the worker.
AUDIT_RETENTION_DAYS = int(os.environ.get("AUDIT_RETENTION_DAYS", "730"))
# How long a check-in may answer with a remembered configuration ETag: changes
# of employees and clients reach devices within this time (at once on GET /config).
CONFIG_ETAG_CACHE_SECONDS = int(os.environ.get("CONFIG_ETAG_CACHE_SECONDS", "60"))
# With company generations (GENERATIONS_REDIS_URL) the ETag names the
# company's generation instead, and changes at once (docs/device-api.md).
# The device API's credential look-up is a prepared statement on PostgreSQL;
# turn off (0) behind a connection pooler that cannot keep prepared statements.
DEVICE_API_PREPARED_LOOKUP = env_bool("DEVICE_API_PREPARED_LOOKUP", True)
# With company generations on (GENERATIONS_REDIS_URL), each process keeps the
# devices it authenticated for at most this long, checked against their
# company's generation on every call; 0 turns the cache off. The expiry only
# bounds a copy whose bump failed (Redis unreachable from the writer).
DEVICE_API_CREDENTIAL_CACHE_SECONDS = int(os.environ.get("DEVICE_API_CREDENTIAL_CACHE_SECONDS", "300"))
# The most devices one process holds (about 4 KB each); the oldest go first.
DEVICE_API_CREDENTIAL_CACHE_ENTRIES = int(os.environ.get("DEVICE_API_CREDENTIAL_CACHE_ENTRIES", "20000"))
# Largest request body the device API reads; every valid request is far smaller.
DEVICE_API_MAX_BODY_BYTES = int(os.environ.get("DEVICE_API_MAX_BODY_BYTES", "16384"))
# A well-formed check-in is answered without Ninja's per-operation machinery
# (device_api.api.check_in_direct; every other call and every error still goes
# through the Ninja operation); 0 sends every check-in through the operation.
DEVICE_API_DIRECT_CHECK_INS = env_bool("DEVICE_API_DIRECT_CHECK_INS", True)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
# A strict Content-Security-Policy (Django's own middleware): every script,
# style, image and connection from this site only; no inline script or style
# attribute in any page (the pages have none, and htmx's indicator styles are
# switched off in base.html); QR codes and charts are inline SVG elements.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG and not TESTING:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXIES else None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
