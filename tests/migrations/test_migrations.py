"""Migrations: one head, upgrade on empty SQLite and PostgreSQL, no drift from the models."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import inspect, text

from annotator import migrate
from annotator.db import make_engine
from annotator.models import Base


def test_there_is_exactly_one_head():
    assert len(migrate.heads()) == 1


def test_upgrade_head_on_empty_sqlite_matches_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    assert migrate.drift(engine) == []
    assert set(inspect(engine).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}
    migrate.upgrade(url)  # a second upgrade is a no-op


def test_downgrade_to_base_and_up_again_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate.upgrade(url)
    from alembic import command

    command.downgrade(migrate.alembic_config(url), "base")
    assert inspect(make_engine(url)).get_table_names() == ["alembic_version"]
    migrate.upgrade(url)
    assert migrate.drift(make_engine(url)) == []


@pytest.mark.postgres
def test_upgrade_head_on_empty_postgresql_matches_the_models(postgres_url):
    name = f"annotator_migrations_{uuid.uuid4().hex[:10]}"
    admin = make_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        migrate.upgrade(url)
        engine = make_engine(url)
        assert migrate.drift(engine) == []
        engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_drift_notices_a_missing_index_over_expressions(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX uq_ledger_accounts_holder"))
    assert migrate.drift(engine) == [("missing_expression_index", "ledger_accounts", "uq_ledger_accounts_holder")]
