"""The export's read-ahead: pages come in order, a reader's error reaches the caller, a caller that stops
early stops the reader (no thread left behind, the source closed)."""
from __future__ import annotations

import threading

import pytest

from tasks.export_pages import read_ahead


def test_pages_arrive_in_order_and_all_of_them():
    assert list(read_ahead(iter(range(50)), depth=2)) == list(range(50))
    assert list(read_ahead(iter([]))) == []


def test_an_error_in_the_reader_is_raised_to_the_caller_after_the_pages_before_it():
    def pages():
        yield 1
        yield 2
        raise LookupError("the database went away")

    seen = []
    with pytest.raises(LookupError, match="went away"):
        for page in read_ahead(pages()):
            seen.append(page)
    assert seen == [1, 2]


def test_a_caller_that_stops_early_stops_the_reader_and_closes_the_source():
    closed = threading.Event()
    produced = []

    def pages():
        try:
            for n in range(10_000):
                produced.append(n)
                yield n
        finally:
            closed.set()

    before = threading.active_count()
    reader = read_ahead(pages(), depth=2)
    assert next(reader) == 0
    reader.close()  # what a for loop does when the writer inside it raises
    assert closed.is_set() and threading.active_count() == before
    assert len(produced) <= 5  # it read no further than `depth` pages ahead


def test_a_writer_error_inside_the_loop_propagates_and_leaves_no_thread():
    before = threading.active_count()
    with pytest.raises(ZeroDivisionError):
        for page in read_ahead(iter(range(100))):
            if page == 3:
                raise ZeroDivisionError
    assert threading.active_count() == before
