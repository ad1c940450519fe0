"""SQLite writers queue in the process and across processes, and the turn always passes on."""
from __future__ import annotations

import fcntl
import multiprocessing
import os
import threading
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from annotator.db import make_engine, write_intent, writer_queue


def _engine(path):
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)"))
    return engine


def _lock_is_free(path) -> bool:
    fd = os.open(f"{path}-writer.lock", os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)


def _hold_the_write_turn(path, seconds, started) -> None:
    engine = make_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        write_intent(session)
        session.execute(text("INSERT INTO t (v) VALUES ('child')"))
        started.set()
        time.sleep(seconds)
        session.commit()
    engine.dispose()


def test_engines_on_one_file_share_a_queue_and_memory_databases_do_not(tmp_path):
    assert writer_queue(str(tmp_path / "a.db")) is writer_queue(str(tmp_path / "a.db"))
    assert writer_queue(str(tmp_path / "a.db")) is not writer_queue(str(tmp_path / "b.db"))
    assert writer_queue(None) is not writer_queue(None)


def test_a_writer_in_another_process_holds_the_turn_until_it_commits(tmp_path):
    path = tmp_path / "w.db"
    engine = _engine(path)
    started = multiprocessing.get_context("spawn").Event()
    child = multiprocessing.get_context("spawn").Process(target=_hold_the_write_turn, args=(str(path), 1.0, started))
    child.start()
    try:
        assert started.wait(30)
        assert not _lock_is_free(path)
        begun = time.monotonic()
        with Session(engine) as session:
            write_intent(session)  # waits for the child's commit, then goes in without "database is locked"
            session.execute(text("INSERT INTO t (v) VALUES ('parent')"))
            session.commit()
        assert time.monotonic() - begun > 0.3
        assert _lock_is_free(path)
    finally:
        child.join(30)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT v FROM t ORDER BY id")).scalars().all() == ["child", "parent"]


@pytest.mark.parametrize("ending", ["commit", "rollback", "failed statement", "close"])
def test_the_turn_passes_on_however_the_transaction_ends(tmp_path, ending):
    path = tmp_path / "e.db"
    engine = _engine(path)
    session = Session(engine)
    write_intent(session)
    session.execute(text("INSERT INTO t (id, v) VALUES (1, 'a')"))
    assert not _lock_is_free(path)
    if ending == "commit":
        session.commit()
    elif ending == "rollback":
        session.rollback()
    elif ending == "failed statement":
        with pytest.raises(IntegrityError):
            session.execute(text("INSERT INTO t (id, v) VALUES (1, 'again')"))
        session.rollback()
    else:
        session.close()
    assert _lock_is_free(path)
    done = threading.Event()

    def another_writer():
        with Session(engine) as other:
            write_intent(other)
            other.execute(text("INSERT INTO t (v) VALUES ('b')"))
            other.commit()
        done.set()

    thread = threading.Thread(target=another_writer)
    thread.start()
    assert done.wait(5), "the next writer never got its turn"
    thread.join()
    session.close()


def test_readers_do_not_queue(tmp_path):
    path = tmp_path / "r.db"
    engine = _engine(path)
    with Session(engine) as writer:
        write_intent(writer)
        writer.execute(text("INSERT INTO t (v) VALUES ('a')"))
        with Session(engine) as reader:  # a plain BEGIN, while the writer holds its turn
            assert reader.execute(text("SELECT count(*) FROM t")).scalar_one() == 0
        writer.commit()


def _child_writes(path, done) -> None:
    engine_in_child = _ENGINE_BEFORE_FORK[0]  # made by the parent before the fork
    with Session(engine_in_child) as session:
        write_intent(session)
        session.execute(text("INSERT INTO t (v) VALUES ('forked')"))
        session.commit()
    done.set()


_ENGINE_BEFORE_FORK: list = []


def test_a_forked_child_takes_its_own_turns_on_an_engine_made_before_the_fork(tmp_path):
    path = tmp_path / "f.db"
    engine = _engine(path)  # used (its queue's lock file opened) before the fork
    _ENGINE_BEFORE_FORK[:] = [engine]
    writers = writer_queue(str(path))
    holder = object()
    writers.enter(holder)  # another thread of the parent is writing when the fork happens
    context = multiprocessing.get_context("fork")
    done = context.Event()
    child = context.Process(target=_child_writes, args=(str(path), done))
    child.start()
    time.sleep(0.5)
    assert not done.is_set()  # the child waits for the parent's turn across processes ...
    writers.leave(holder)
    child.join(30)
    assert child.exitcode == 0 and done.is_set()  # ... and gets it: no inherited thread lock, its own flock
    with engine.connect() as connection:
        assert connection.execute(text("SELECT v FROM t")).scalars().all() == ["forked"]
