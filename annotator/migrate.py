"""Alembic, driven from code: the CLI, `annotator run` and the tests share these."""
from __future__ import annotations

import warnings
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.autogenerate import compare_metadata
from alembic.script import ScriptDirectory
from sqlalchemy import Column, text
from sqlalchemy.engine import Engine

from annotator.models import Base

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would choke on '%' in a URL-encoded password.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def heads(database_url: str = "sqlite://") -> list[str]:
    return list(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())


def drift(engine: Engine) -> list:
    """Differences between the models and the database's schema; empty when they agree.

    Alembic cannot compare indexes over expressions (it warns and skips them), so those are checked by name.
    """
    with engine.connect() as connection, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*expression-based index")
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
        present = set(connection.execute(text(
            "SELECT name FROM sqlite_master WHERE type = 'index'" if engine.dialect.name == "sqlite"
            else "SELECT indexname FROM pg_indexes")).scalars())
    for table in Base.metadata.sorted_tables:
        for index in table.indexes:
            expression = any(not isinstance(part, Column) for part in index.expressions)
            if expression and index.name not in present:
                differences.append(("missing_expression_index", table.name, index.name))
    return differences
