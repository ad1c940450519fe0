"""The ledger's invariants: balanced, posted once, append-only, never below zero, verified."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import insert, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from annotator.db import utcnow
from annotator.errors import BudgetExhausted, Conflict, IdempotencyKeyReused, InsufficientFunds, InvalidInput
from annotator.runtime import runtime
from incentives import ledger
from incentives.ledger import Leg
from incentives.models import Account, Entry
from tests.factories import create_text_project


@pytest.fixture
def books(db, make_user):
    owner = make_user("owner@example.org")
    world = ledger.account(db, "outside_world")
    wallet = ledger.account(db, "wallet_available", user_id=owner.id)
    db.commit()
    return db, world, wallet


def deposit(db, world, wallet, amount, key):
    return ledger.post(db, key, "deposit", [Leg(world, -amount), Leg(wallet, amount)], utcnow())


def test_a_posting_moves_both_balances_and_verifies(books):
    db, world, wallet = books
    deposit(db, world, wallet, 1000, "d1")
    db.commit()
    assert (wallet.balance, world.balance) == (1000, -1000)
    assert ledger.balance(db, wallet) == 1000 and ledger.verify(db) == []


def test_the_same_key_posts_once_and_another_body_is_refused(books):
    db, world, wallet = books
    first = deposit(db, world, wallet, 500, "same")
    again = deposit(db, world, wallet, 500, "same")
    assert again.id == first.id and wallet.balance == 500
    with pytest.raises(IdempotencyKeyReused):
        deposit(db, world, wallet, 700, "same")
    db.commit()
    assert ledger.balance(db, wallet) == 500


def test_no_account_but_the_outside_world_goes_below_zero(books, make_user):
    db, world, wallet = books
    someone = make_user()
    deposit(db, world, wallet, 100, "d")
    other = ledger.account(db, "wallet_available", user_id=someone.id)
    with pytest.raises(InsufficientFunds) as refused:
        ledger.post(db, "too-much", "transfer", [Leg(wallet, -101), Leg(other, 101)], utcnow())
    assert refused.value.extra == {"balance": 100, "wanted": 101}
    db.rollback()
    assert ledger.verify(db) == []


@pytest.mark.parametrize("legs", [[1, -1, 1], [5], [0, 0], [1.5, -1.5], [True, -1], [2**63, -(2**63)]])
def test_unbalanced_or_malformed_legs_are_refused_before_anything_is_written(books, legs):
    db, world, wallet = books
    accounts = [world, wallet, world]
    with pytest.raises(ValueError):
        ledger.post(db, "bad", "x", [Leg(accounts[n], amount) for n, amount in enumerate(legs)], utcnow())
    assert db.query(Entry).count() == 0


@pytest.mark.parametrize("amount, message", [(-5, "more than zero"), (0, "more than zero"), (1.5, "whole"),
                                             ("100", "whole"), (True, "whole"), (2**63, "at most")])
def test_amounts_from_people_are_positive_whole_minor_units(amount, message):
    with pytest.raises(InvalidInput) as refused:
        ledger.check_amount(amount)
    assert message in refused.value.fields["amount"][0]


def test_a_reversal_names_the_original_and_happens_once(books):
    db, world, wallet = books
    original = deposit(db, world, wallet, 300, "d")
    undo = ledger.reverse(db, original.id, "undo-d", utcnow())
    assert undo.reverses_id == original.id and wallet.balance == 0 and world.balance == 0
    assert ledger.reverse(db, original.id, "undo-d", utcnow()).id == undo.id  # a retry
    with pytest.raises(Conflict):
        ledger.reverse(db, original.id, "undo-d-again", utcnow())
    db.commit()
    assert ledger.verify(db) == []


@pytest.mark.parametrize("statement", ["UPDATE ledger_entries SET amount = amount + 1",
                                       "DELETE FROM ledger_entries",
                                       "UPDATE ledger_transactions SET memo = 'edited'",
                                       "DELETE FROM ledger_transactions"])
def test_the_database_refuses_to_change_or_delete_the_ledger(books, statement):
    db, world, wallet = books
    deposit(db, world, wallet, 100, "d")
    db.commit()
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(text(statement))
    db.rollback()


def test_verify_names_each_breach(books):
    db, world, wallet = books
    deposit(db, world, wallet, 100, "d")
    db.commit()
    db.execute(update(Account).where(Account.id == wallet.id).values(balance=150))  # a tampered cache
    tx = ledger.post(db, "d2", "deposit", [Leg(world, -5), Leg(wallet, 5)], utcnow())
    db.execute(insert(Entry).values(transaction_id=tx.id, account_id=wallet.id, amount=7))  # an extra leg
    db.commit()
    breaches = ledger.verify(db)
    assert any(f"transaction {tx.id} does not balance" in b for b in breaches)
    assert any(f"account {wallet.id}" in b and "caches" in b for b in breaches)


def test_a_second_outside_world_is_never_made(db):
    first = ledger.account(db, "outside_world")
    assert ledger.account(db, "outside_world").id == first.id


@pytest.mark.postgres
def test_fifty_concurrent_withdrawals_never_overdraw_on_postgresql(pg_app, make_user):
    factory = runtime(pg_app).session_factory
    with factory() as session:
        wallet = ledger.account(session, "wallet_available", currency="EUR")
        euro_world = ledger.account(session, "outside_world", currency="EUR")
        ledger.post(session, "fund", "deposit", [Leg(euro_world, -1000), Leg(wallet, 1000)], utcnow())
        session.commit()
        wallet_id, world_id = wallet.id, euro_world.id
    outcomes: list[str] = []
    barrier = threading.Barrier(50)

    def withdraw(n: int) -> None:
        with factory() as session:
            barrier.wait()
            try:
                ledger.post(session, f"w{n}", "payout", [Leg(session.get(Account, wallet_id), -30),
                                                         Leg(session.get(Account, world_id), 30)], utcnow())
                session.commit()
                outcomes.append("paid")
            except InsufficientFunds:
                session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=withdraw, args=(n,)) for n in range(50)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert outcomes.count("paid") == 33 and outcomes.count("refused") == 17
    with factory() as session:
        assert session.get(Account, wallet_id).balance == 10 and ledger.verify(session) == []


@pytest.mark.postgres
def test_one_key_posted_by_two_workers_at_once_posts_once_on_postgresql(pg_app):
    factory = runtime(pg_app).session_factory
    with factory() as session:
        world, budget = ledger.account(session, "outside_world"), ledger.account(session, "platform_fees")
        session.commit()
        ids = (world.id, budget.id)
    results: list[int] = []
    barrier = threading.Barrier(2)

    def settle() -> None:
        with factory() as session:
            legs = [Leg(session.get(Account, ids[0]), -40), Leg(session.get(Account, ids[1]), 40)]
            barrier.wait()
            try:
                results.append(ledger.post(session, "settle-task-9", "settlement", legs, utcnow()).id)
                session.commit()
            except IntegrityError:  # never expected: the key is looked up under the account locks
                session.rollback()
                results.append(-1)

    threads = [threading.Thread(target=settle) for _ in range(2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(set(results)) == 1 and results[0] > 0
    with factory() as session:
        assert session.get(Account, ids[1]).balance == 40 and ledger.verify(session) == []


def test_the_database_refuses_a_second_account_for_one_holder_even_with_null_project_and_user(db):
    from sqlalchemy.exc import IntegrityError

    first = ledger.account(db, "wallet_available", user_id=None)
    db.commit()
    with pytest.raises(IntegrityError):
        db.execute(Account.__table__.insert().values(kind="wallet_available", project_id=None, user_id=None,
                                                     currency=first.currency, balance=0))
    db.rollback()


def test_late_postings_write_their_entries_at_once_and_move_the_balances_at_commit(books, make_user):
    db, world, wallet = books
    project_owner = make_user()
    deposit(db, world, wallet, 1000, "d")
    db.commit()
    pending = ledger.account(db, "wallet_pending", user_id=project_owner.id)
    first = ledger.post_late(db, "late-1", "credit", [Leg(wallet, -300), Leg(pending, 300)], utcnow())
    again = ledger.post_late(db, "late-1", "credit", [Leg(wallet, -300), Leg(pending, 300)], utcnow())
    assert again == first  # a retry is the first posting
    with pytest.raises(IdempotencyKeyReused):
        ledger.post_late(db, "late-1", "credit", [Leg(wallet, -200), Leg(pending, 200)], utcnow())
    assert ledger.balance(db, wallet) == 700  # the entries are there
    assert ledger.late_delta(db, wallet) == -300 and ledger.late_delta(db, pending) == 300
    db.commit()  # before_commit applies them
    fresh = db.get(Account, wallet.id, populate_existing=True)
    assert fresh.balance == 700 and db.get(Account, pending.id, populate_existing=True).balance == 300
    assert ledger.late_delta(db, wallet) == 0 and ledger.verify(db) == []


def test_a_late_posting_that_would_take_an_account_below_zero_is_refused_at_apply_and_nothing_moves(books, make_user):
    db, world, wallet = books
    pending = ledger.account(db, "wallet_pending", user_id=make_user().id)
    deposit(db, world, wallet, 100, "d")
    db.commit()
    ledger.post_late(db, "late-big", "credit", [Leg(wallet, -150), Leg(pending, 150)], utcnow())
    with pytest.raises(InsufficientFunds):
        ledger.apply_late(db)
    db.rollback()
    assert db.get(Account, wallet.id, populate_existing=True).balance == 100
    assert ledger.late_delta(db, wallet) == 0 and ledger.verify(db) == []


def test_late_postings_made_together_each_post_once_and_a_project_budget_refuses_with_budget_exhausted(
        db, client, owner):
    project = create_text_project(client, owner)
    world = ledger.account(db, "outside_world")
    budget = ledger.account(db, "project_budget", project_id=project["id"])
    reserve = ledger.account(db, "project_reserve", project_id=project["id"])
    ledger.post(db, "fund", "deposit", [Leg(world, -100), Leg(budget, 100)], utcnow())
    db.commit()
    ids = ledger.post_late_many(db, [ledger.Posting(f"r{n}", "reserve", [Leg(budget, -40), Leg(reserve, 40)])
                                     for n in range(2)], utcnow())
    assert sorted(ids) == ["r0", "r1"] and len(set(ids.values())) == 2
    db.commit()
    assert db.get(Account, budget.id, populate_existing=True).balance == 20
    ledger.post_late(db, "r2", "reserve", [Leg(budget, -40), Leg(reserve, 40)], utcnow())
    with pytest.raises(BudgetExhausted):
        db.commit()
    db.rollback()
    assert db.get(Account, budget.id, populate_existing=True).balance == 20 and ledger.verify(db) == []


def test_a_savepoint_neither_applies_late_postings_nor_loses_those_made_before_it(books, make_user):
    db, world, wallet = books
    pending = ledger.account(db, "wallet_pending", user_id=make_user().id)
    deposit(db, world, wallet, 1000, "d")
    db.commit()
    ledger.post_late(db, "before", "credit", [Leg(wallet, -100), Leg(pending, 100)], utcnow())
    with db.begin_nested():  # released: nothing moves yet
        ledger.post_late(db, "kept", "credit", [Leg(wallet, -10), Leg(pending, 10)], utcnow())
    assert ledger.late_delta(db, wallet) == -110
    savepoint = db.begin_nested()
    ledger.post_late(db, "dropped", "credit", [Leg(wallet, -1), Leg(pending, 1)], utcnow())
    savepoint.rollback()  # its posting is gone, and so is its delta; the ones before it stay
    assert ledger.late_delta(db, wallet) == -110 and ledger.late_delta(db, pending) == 110
    db.commit()
    assert db.get(Account, wallet.id, populate_existing=True).balance == 890
    assert ledger.balance(db, pending) == 110 and ledger.verify(db) == []
