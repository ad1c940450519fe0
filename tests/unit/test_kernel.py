"""Config, database kernel and small helpers."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from annotator.app import create_app
from annotator.api.core import flatten_messages
from annotator.config import ConfigError, from_environment
from annotator.db import UTCDateTime, make_engine
from annotator.users.passwords import Passwords


@pytest.fixture(autouse=True)
def bare_environment(monkeypatch):
    """These tests are about defaults: the lane's DATABASE_URL and keys must not leak in."""
    for name in ("DATABASE_URL", "REDIS_URL", "ANNOTATOR_SECRET_KEY", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)


def test_refuses_to_start_with_the_default_secret_key_outside_debug_and_testing(tmp_path):
    with pytest.raises(ConfigError, match="ANNOTATOR_SECRET_KEY"):
        create_app({"INSTANCE_PATH": str(tmp_path)})


def test_starts_with_the_default_key_when_testing_and_with_a_real_key_otherwise(tmp_path):
    assert create_app({"INSTANCE_PATH": str(tmp_path), "TESTING": True}).testing
    assert create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "a long random key"}).secret_key


def test_uses_the_instance_secret_key_file_made_by_annotator_run(tmp_path):
    (tmp_path / "secret_key").write_text("generated-for-this-instance\n")
    assert create_app({"INSTANCE_PATH": str(tmp_path)}).secret_key == "generated-for-this-instance"


def test_environment_overrides_are_typed_and_bad_ones_are_named():
    settings = from_environment({"ANNOTATOR_OPEN_SIGNUP": "false", "ANNOTATOR_MAX_UPLOAD_MB": "12",
                                 "ANNOTATOR_SECRET_KEY": "s", "DATABASE_URL": "sqlite://"})
    assert settings == {"ANNOTATOR_OPEN_SIGNUP": False, "ANNOTATOR_MAX_UPLOAD_MB": 12, "SECRET_KEY": "s",
                        "DATABASE_URL": "sqlite://"}
    with pytest.raises(ValueError, match="ANNOTATOR_OPEN_SIGNUP"):
        from_environment({"ANNOTATOR_OPEN_SIGNUP": "maybe"})
    with pytest.raises(ValueError, match="ANNOTATOR_MAX_UPLOAD_MB"):
        from_environment({"ANNOTATOR_MAX_UPLOAD_MB": "lots"})


def test_sqlite_default_lives_in_the_instance_folder_with_wal_and_foreign_keys(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "TESTING": True})
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'annotator.db'}"
    with make_engine(app.config["DATABASE_URL"]).connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_utc_datetime_refuses_naive_times_and_returns_aware_utc():
    column = UTCDateTime()
    sqlite = make_engine("sqlite://").dialect
    with pytest.raises(ValueError):
        column.process_bind_param(dt.datetime(2026, 1, 1), sqlite)
    shanghai = dt.datetime(2026, 1, 1, 8, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    stored = column.process_bind_param(shanghai, sqlite)
    assert stored == dt.datetime(2026, 1, 1, 0)
    assert column.process_result_value(stored, sqlite) == shanghai
    assert column.process_result_value(stored, sqlite).utcoffset() == dt.timedelta(0)


def test_production_password_hashes_are_argon2id_with_rfc9106_low_memory_cost():
    hashed = Passwords().hash("a password of length")
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert Passwords().verify(hashed, "a password of length")
    assert not Passwords().verify(hashed, "a password of lengtH")
    assert not Passwords().verify("not a hash", "a password of length")
    assert not Passwords().verify(None, "a password of length")


def test_cheaper_hashes_are_upgraded_on_next_verify():
    weak = Passwords(time_cost=1, memory_kib=1024, parallelism=1).hash("pw-0123456789")
    assert Passwords().needs_rehash(weak)


def test_flatten_messages_gives_dotted_paths():
    nested = {"labels": {0: {"name": ["Must not be empty."]}}, "_schema": ["Bad."], "x": ["y"]}
    assert flatten_messages(nested) == {"labels.0.name": ["Must not be empty."], "_body": ["Bad."], "x": ["y"]}


def test_secure_cookies_setting_marks_session_cookies_secure(tmp_path, monkeypatch):
    monkeypatch.setenv("ANNOTATOR_SECURE_COOKIES", "true")
    app = create_app({"INSTANCE_PATH": str(tmp_path), "TESTING": True})
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.config["REMEMBER_COOKIE_SECURE"] is True
    monkeypatch.setenv("ANNOTATOR_SECURE_COOKIES", "false")
    assert not create_app({"INSTANCE_PATH": str(tmp_path), "TESTING": True}).config.get("SESSION_COOKIE_SECURE")


@pytest.mark.parametrize(("setting", "value", "named"), [
    ("ANNOTATOR_CURRENCY", "cny", "ANNOTATOR_CURRENCY"), ("ANNOTATOR_CURRENCY", "EURO", "ANNOTATOR_CURRENCY"),
    ("ANNOTATOR_CURRENCY", "€€€", "ANNOTATOR_CURRENCY"), ("ANNOTATOR_PLATFORM_FEE_BPS", -1, "FEE_BPS"),
    ("ANNOTATOR_PLATFORM_FEE_BPS", 10_000, "FEE_BPS")])
def test_money_settings_out_of_range_are_refused_by_name(tmp_path, setting, value, named):
    with pytest.raises(ConfigError, match=named):
        create_app({"INSTANCE_PATH": str(tmp_path), "TESTING": True, setting: value})


def test_the_currency_setting_is_the_ledgers(tmp_path):
    from incentives import ledger

    try:
        create_app({"INSTANCE_PATH": str(tmp_path), "TESTING": True, "ANNOTATOR_CURRENCY": "EUR"})
        assert ledger.currency() == "EUR"
    finally:
        ledger.set_currency("CNY")
