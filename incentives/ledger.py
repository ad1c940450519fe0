"""Posting to the double-entry ledger, balances, reversals, and the verification of every invariant.

Invariants (see incentives/README.md): every transaction's entries sum to zero in integer minor units;
a transaction is posted once per idempotency key (a retry returns the first posting; the same key with
other legs is refused); nothing is updated or deleted, a correction is a reversing transaction naming the
one it reverses (at most once); an account's cached balance is the sum of its entries, moved in the same
transaction; no account except the outside world goes below zero. Flushes, never commits.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Select, bindparam, event, func, select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from annotator.db import insert_skipping_duplicates
from annotator.errors import BalanceLimit, BudgetExhausted, Conflict, IdempotencyKeyReused, InsufficientFunds, InvalidInput
from incentives.models import ACCOUNT_KINDS, Account, Entry, LedgerTransaction

MAX_AMOUNT = 10**15  # minor units: sums of many stay far inside a 64-bit integer
# No balance may pass this, either way: with one posting at most MAX_AMOUNT, a balance never reaches the database's
# 64-bit limit (2**63 - 1), so a posting that would is refused (BalanceLimit, 409) instead of overflowing.
BALANCE_LIMIT = 2**62
_CURRENCY = ["CNY"]  # the platform's currency: ANNOTATOR_CURRENCY, set once by the app factory


def currency() -> str:
    return _CURRENCY[0]


def is_currency_code(code: object) -> bool:
    """Whether `code` is written like an ISO 4217 code: three capital ASCII letters (CNY, EUR)."""
    return isinstance(code, str) and len(code) == 3 and code.isascii() and code.isupper() and code.isalpha()


def set_currency(code: str) -> None:
    """Make `code` (ISO 4217, e.g. CNY, EUR) the currency new accounts are kept in."""
    if not is_currency_code(code):
        raise ValueError(f"a currency is three capital letters (ISO 4217), not {code!r}")
    _CURRENCY[0] = code


@dataclass(frozen=True)
class Leg:
    account: Account
    amount: int  # minor units; positive adds to the account's balance


def account(session: Session, kind: str, *, project_id: int | None = None, user_id: int | None = None,
            currency: str | None = None) -> Account:
    """The account, made on first use (safely when two transactions make it at once).

    Remembered for the session (an account is never deleted; forgotten when a transaction rolls back, as the
    one that made it may have), so a request that names one account many times reads it once.
    """
    if kind not in ACCOUNT_KINDS:
        raise ValueError(f"unknown account kind {kind!r}")
    currency = currency or _CURRENCY[0]
    known = session.info.setdefault(_KNOWN, {})
    found = known.get((kind, project_id, user_id, currency))
    if found is not None:
        return found
    where = (Account.kind == kind, Account.currency == currency,
             Account.project_id.is_(None) if project_id is None else Account.project_id == project_id,
             Account.user_id.is_(None) if user_id is None else Account.user_id == user_id)
    found = session.scalar(select(Account).where(*where))
    if found is None:
        # The unique index is over coalesce(project_id, 0) and coalesce(user_id, 0): of two makers, one inserts.
        session.execute(insert_skipping_duplicates(session, Account.__table__).values(
            kind=kind, project_id=project_id, user_id=user_id, currency=currency, balance=0))
        found = session.scalars(select(Account).where(*where).order_by(Account.id)).first()
    known[(kind, project_id, user_id, currency)] = found
    return found


def lock(session: Session, accounts: list[Account]) -> dict[int, Account]:
    """Lock accounts for the rest of the transaction, in id order, and refresh their cached balances; returns
    them by id. Accounts this transaction already holds are not asked for again.

    Row locks taken one posting at a time can deadlock when a transaction posts several times (a submit that
    credits and then settles): callers that will post more than once lock everything they will touch first,
    in one ordered statement, so transactions queue instead.
    """
    held = session.info.setdefault(_HELD, {})
    wanted = sorted({a.id for a in accounts} - held.keys())
    if wanted:
        # FOR NO KEY UPDATE: it queues behind other lockers and balance moves, not behind the FOR KEY SHARE that
        # inserting an entry takes on its account (a late posting holds that to commit).
        for row in session.scalars(select(Account).where(Account.id.in_(wanted)).order_by(Account.id)
                                   .with_for_update(key_share=True).execution_options(populate_existing=True)):
            held[row.id] = row
    return {a.id: held[a.id] for a in accounts}


def locked_accounts(session: Session, wanted: list[tuple[str, int | None, int | None]], *,
                    locked: bool = True) -> list[Account]:
    """The accounts (kind, project_id, user_id) in the platform's currency, made if missing and locked in id
    order: one statement when they exist and none is locked yet (the labelling hot path). `locked=False`: found
    (or made), not locked, for postings that move them late (post_late)."""
    currency = _CURRENCY[0]
    known = session.info.setdefault(_KNOWN, {})
    held = session.info.setdefault(_HELD, {})
    # One statement, in id order, for every account not yet known (or, to lock, not yet held): two lockers of
    # overlapping sets never each hold one the other waits for.
    missing = [w for w in wanted if (*w, currency) not in known
               or (locked and known[(*w, currency)].id not in held)]
    if missing:
        # One prebuilt statement (expanding IN lists, compiled once): the holders' kinds, projects and people. Project
        # accounts have no person and wallets no project, so the lists' combinations are the accounts asked for.
        params = {"currency": currency, "kinds": sorted({w[0] for w in missing}),
                  "projects": sorted({w[1] or 0 for w in missing}), "users": sorted({w[2] or 0 for w in missing})}
        wanted_keys = {(*w, currency) for w in missing}
        seen = session.info.setdefault(_SEEN, {})
        for row, balance in session.execute(_FIND_LOCKED if locked else _FIND, params):
            key = (row.kind, row.project_id, row.user_id, currency)
            if key in wanted_keys:
                known[key] = row
                seen[row.id] = balance
                if locked:
                    held[row.id] = row
    found = [known.get((kind, project_id, user_id, currency))
             or account(session, kind, project_id=project_id, user_id=user_id) for kind, project_id, user_id in wanted]
    if locked:
        lock(session, found)
    return found


# Each account with its balance as this statement read it (the ORM object may be older: see committed_balance).
_FIND = (select(Account, Account.balance).where(Account.currency == bindparam("currency"),
                               Account.kind.in_(bindparam("kinds", expanding=True)),
                               func.coalesce(Account.project_id, 0).in_(bindparam("projects", expanding=True)),
                               func.coalesce(Account.user_id, 0).in_(bindparam("users", expanding=True)))
         .order_by(Account.id))
_FIND_LOCKED = _FIND.with_for_update(key_share=True).execution_options(populate_existing=True)
_KNOWN, _HELD, _SAVED = "ledger_known_accounts", "ledger_locked_accounts", "ledger_late_at_savepoints"
_SEEN = "ledger_balances_seen"  # account id -> its balance when locked_accounts found it, until it moves


def committed_balance(session: Session, holder: Account) -> int:
    """The account's balance as this transaction sees it: as locked_accounts read it when it found the account in
    this transaction (no round trip), else read now."""
    seen = session.info.get(_SEEN, {}).get(holder.id)
    return seen if seen is not None else balance_now(session, holder)


def balance_now(session: Session, holder: Account) -> int:
    """The account's cached balance read now (its latest committed value, or this transaction's own)."""
    return session.scalar(select(Account.balance).where(Account.id == holder.id))


@event.listens_for(Session, "after_commit")
def _release_locks(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint's release keeps the transaction's locks
        session.info.pop(_HELD, None)
        session.info.pop(_SEEN, None)


@event.listens_for(Session, "after_transaction_create")
def _remember_late(session: Session, transaction) -> None:
    """A savepoint remembers the late deltas it began with, to put them back if it is rolled back."""
    if transaction.nested:
        session.info.setdefault(_SAVED, {})[id(transaction)] = dict(session.info.get(_LATE, {}))


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_HELD, None)
    session.info.pop(_KNOWN, None)
    session.info.pop(_LATE, None)
    session.info.pop(_SEEN, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_or_restore(session: Session, previous_transaction) -> None:
    if previous_transaction.nested:  # the transaction goes on: the postings before the savepoint still move
        saved = session.info.get(_SAVED, {}).pop(id(previous_transaction), None)
        if saved is not None:
            session.info[_LATE] = saved
        return
    _forget(session)
    session.info.pop(_SAVED, None)


def check_amount(value: object, field: str = "amount") -> int:
    """A positive whole number of minor units, or InvalidInput saying what is wrong."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput({field: ["Must be a whole number of minor units (e.g. fen), not a fraction or text."]})
    if value <= 0:
        raise InvalidInput({field: ["Must be more than zero."]})
    if value > MAX_AMOUNT:
        raise InvalidInput({field: [f"Must be at most {MAX_AMOUNT}."]})
    return value


# The hot rows: every lease and answer of a paid project moves its budget and its reserve, and a task's settlement
# the wallets of everyone who answered it. Locked for a whole transaction they queue a project's labelling behind
# one row, however many web servers run (issue 21), so the labelling path posts to them late: the entries are
# written at once, the cached balances move as the last statements before commit (apply_late), guarded UPDATEs in
# id order (on PostgreSQL one statement for all of them), holding each row only for the commit. Nothing goes below
# zero: the guard refuses, and the whole transaction with it. Deposits, payouts and take-backs still lock what they
# move and check it first.
LATE_KINDS = frozenset({"project_budget", "project_reserve", "wallet_pending", "wallet_available"})
_LATE = "ledger_late_deltas"


@dataclass(frozen=True)
class Posting:
    """One balanced transaction to post: its idempotency key, kind, legs and what it names."""

    key: str
    kind: str
    legs: list[Leg]
    memo: str = ""
    details: dict[str, Any] | None = None
    project_id: int | None = None
    task_id: int | None = None
    annotation_id: int | None = None
    assignment_id: int | None = None


def post_late(session: Session, key: str, kind: str, legs: list[Leg], now: dt.datetime, *, memo: str = "",
              details: dict[str, Any] | None = None, project_id: int | None = None, task_id: int | None = None,
              annotation_id: int | None = None, assignment_id: int | None = None) -> int:
    """post(), with the legs on LATE_KINDS accounts this transaction has not locked moving their balances at
    apply_late (called before commit; the session's before_commit applies what is left). Other legs' accounts
    are locked and checked now, as post() does. Returns the transaction's id (the first posting's, on a retry)."""
    return post_late_many(session, [Posting(key, kind, legs, memo, details, project_id, task_id, annotation_id,
                                            assignment_id)], now)[key]


def post_late_many(session: Session, postings: list[Posting], now: dt.datetime) -> dict[str, int]:
    """post_late() for several transactions in two statements (their rows, then every entry); returns each
    key's transaction id.

    Without the hot rows' locks a concurrent posting of the same key is not excluded by them: the unique key
    is (INSERT ... ON CONFLICT DO NOTHING, which waits for the other transaction), and the first posting stands."""
    if not postings:
        return {}
    if len({p.key for p in postings}) != len(postings):
        raise ValueError("one posting per key")
    held = session.info.get(_HELD, {})
    for posting in postings:
        _check_legs(posting.legs)
    every = [leg for posting in postings for leg in posting.legs]
    deferred = {leg.account.id for leg in every if leg.account.kind in LATE_KINDS and leg.account.id not in held}
    locked = lock(session, [leg.account for leg in every if leg.account.id not in deferred])
    if session.get_bind().dialect.name == "postgresql":
        made, entered = _post_all(session, postings, now), True
    else:
        made, entered = dict(session.execute(_new_transactions(session), [
            {"idempotency_key": p.key, "kind": p.kind, "memo": p.memo[:500], "details": p.details or {},
             "project_id": p.project_id, "task_id": p.task_id, "annotation_id": p.annotation_id,
             "assignment_id": p.assignment_id, "created_at": now} for p in postings]).all()), False
    ids: dict[str, int] = {}
    fresh = []
    for posting in postings:
        if posting.key in made:
            ids[posting.key] = made[posting.key]
            fresh.append(posting)
            continue
        # posted before, by this transaction or by another that has committed since: the first posting stands
        first = session.scalar(select(LedgerTransaction.id).where(LedgerTransaction.idempotency_key == posting.key))
        if _fingerprint(session, first) != sorted((leg.account.id, leg.amount) for leg in posting.legs):
            raise IdempotencyKeyReused(f"The key {posting.key!r} was already used for a different posting.")
        ids[posting.key] = first
    if not fresh:
        return ids
    change = _change([leg for p in fresh for leg in p.legs])
    for account_id, delta in change.items():
        if account_id not in deferred:  # refused: the caller's transaction, rows above included, is rolled back
            _check_balance(locked[account_id], delta)
    if not entered:
        session.execute(Entry.__table__.insert(), [{"transaction_id": ids[p.key], "account_id": leg.account.id,
                                                    "amount": leg.amount} for p in fresh for leg in p.legs])
    late = session.info.setdefault(_LATE, {})
    for account_id, delta in change.items():
        if account_id in deferred:
            late[account_id] = late.get(account_id, 0) + delta
        else:
            locked[account_id].balance += delta
            session.info.get(_SEEN, {}).pop(account_id, None)
    return ids


def late_delta(session: Session, holder: Account) -> int:
    """What this transaction's late postings will still add to the account's balance."""
    return session.info.get(_LATE, {}).get(holder.id, 0)


def apply_late(session: Session) -> None:
    """Move the balances of the late postings, locking their rows in id order, each move refusing to take an
    account below zero (BudgetExhausted for a project's budget, else InsufficientFunds) or past BALANCE_LIMIT;
    a refused transaction is rolled back by its caller (what passed its guard may have moved: only a caller that
    retries, as labelling's _reserve does, may go on). What is applied is forgotten and what was refused stays,
    so calling it again (after a release gave the budget more) applies the rest.

    On PostgreSQL every account moves in one statement (its rows locked in id order by a materialised CTE
    first): the rows are held from there to commit, and each round trip between costs a thread its turn at the
    interpreter. SQLite, one writer at a time, takes one UPDATE per account."""
    late = session.info.get(_LATE)
    if not late:
        return
    session.flush()  # the ORM's pending writes first: after these UPDATEs the transaction takes no more locks
    moves = {account_id: delta for account_id, delta in sorted(late.items()) if delta}
    if session.get_bind().dialect.name == "postgresql" and len(moves) > 1:
        applied = dict(session.execute(_MOVE_ALL_LATE, {"ids": list(moves), "deltas": list(moves.values())}).all())
    else:
        applied = {}
        for account_id, delta in moves.items():
            row = session.execute(_MOVE_LATE, {"account_id": account_id, "delta": delta}).first()
            if row is None:
                break
            applied[account_id] = row.balance
    seen = session.info.get(_SEEN, {})
    for account_id, balance in applied.items():
        seen.pop(account_id, None)
        cached = session.identity_map.get(session.identity_key(Account, account_id))
        if cached is not None:  # the row is this transaction's now: its cached object says what it holds
            set_committed_value(cached, "balance", balance)
    for account_id in list(late):
        if account_id in applied or not late[account_id]:
            del late[account_id]
    if late:
        account_id = min(late)
        delta = late[account_id]
        holder = session.get(Account, account_id, populate_existing=True)
        if abs(holder.balance + delta) > BALANCE_LIMIT:
            raise BalanceLimit(f"The {holder.kind.replace('_', ' ')} account would pass the ledger's limit "
                               f"of {BALANCE_LIMIT} minor units.")
        if holder.kind == "project_budget":
            raise BudgetExhausted(f"Tasks remain, but the budget ({holder.balance}) cannot pay for another; "
                                  "the owner can deposit more.")
        raise InsufficientFunds(f"The {holder.kind.replace('_', ' ')} holds {holder.balance} and cannot "
                                f"give {-delta}.", balance=holder.balance, wanted=-delta)


_MOVE_ALL_LATE = text("""
WITH moves AS (SELECT * FROM unnest(CAST(:ids AS bigint[]), CAST(:deltas AS bigint[])) AS m(id, delta)),
locked AS MATERIALIZED (SELECT id FROM ledger_accounts WHERE id IN (SELECT id FROM moves) ORDER BY id
                        FOR NO KEY UPDATE)
UPDATE ledger_accounts AS a SET balance = a.balance + moves.delta
FROM moves, locked
WHERE a.id = moves.id AND locked.id = a.id AND a.balance + moves.delta >= 0
  AND abs(a.balance + moves.delta) <= :limit
RETURNING a.id, a.balance
""").bindparams(limit=BALANCE_LIMIT)


# Prebuilt, so SQLAlchemy compiles them once: they run on every paid lease and answer.
_accounts_table = Account.__table__
_after = _accounts_table.c.balance + bindparam("delta")
_MOVE_LATE = (_accounts_table.update()
              .where(_accounts_table.c.id == bindparam("account_id"), _after >= 0,  # LATE_KINDS never go below zero
                     func.abs(_after) <= BALANCE_LIMIT)
              .values(balance=_after).returning(_accounts_table.c.balance))
_NEW_TRANSACTIONS: dict[str, Any] = {}


def _post_all(session: Session, postings: list[Posting], now: dt.datetime) -> dict[str, int]:
    """PostgreSQL: the postings' transactions and the entries of those not posted before, in one statement (one
    round trip); returns the new transactions' ids by key."""
    return dict(session.execute(_POST_ALL, {
        "keys": [p.key for p in postings], "kinds": [p.kind for p in postings],
        "memos": [p.memo[:500] for p in postings], "details": [_json(p.details or {}) for p in postings],
        "projects": [p.project_id for p in postings], "tasks": [p.task_id for p in postings],
        "annotations": [p.annotation_id for p in postings], "assignments": [p.assignment_id for p in postings],
        "created_at": now, "leg_keys": [p.key for p in postings for _ in p.legs],
        "leg_accounts": [leg.account.id for p in postings for leg in p.legs],
        "leg_amounts": [leg.amount for p in postings for leg in p.legs]}).all())


def _json(value: dict[str, Any]) -> str:
    return orjson.dumps(value).decode()


# The entries follow their postings' order (WITH ORDINALITY), so their ids do too, as with two statements.
_POST_ALL = text("""
WITH made AS (
  INSERT INTO ledger_transactions (idempotency_key, kind, memo, details, project_id, task_id, annotation_id,
                                   assignment_id, created_at)
  SELECT p.key, p.kind, p.memo, p.details::json, p.project_id, p.task_id, p.annotation_id, p.assignment_id,
         :created_at
  FROM unnest(CAST(:keys AS text[]), CAST(:kinds AS text[]), CAST(:memos AS text[]), CAST(:details AS text[]),
              CAST(:projects AS integer[]), CAST(:tasks AS integer[]), CAST(:annotations AS integer[]),
              CAST(:assignments AS integer[]))
       AS p(key, kind, memo, details, project_id, task_id, annotation_id, assignment_id)
  ON CONFLICT DO NOTHING
  RETURNING idempotency_key, id),
legs AS (
  INSERT INTO ledger_entries (transaction_id, account_id, amount)
  SELECT made.id, leg.account_id, leg.amount
  FROM unnest(CAST(:leg_keys AS text[]), CAST(:leg_accounts AS integer[]), CAST(:leg_amounts AS bigint[]))
       WITH ORDINALITY AS leg(key, account_id, amount, n)
  JOIN made ON made.idempotency_key = leg.key
  ORDER BY leg.n)
SELECT idempotency_key, id FROM made""")


def _new_transactions(session: Session):
    """INSERT ... ON CONFLICT DO NOTHING RETURNING (key, id) of ledger transactions, one per dialect."""
    name = session.get_bind().dialect.name
    if name not in _NEW_TRANSACTIONS:
        table = LedgerTransaction.__table__
        _NEW_TRANSACTIONS[name] = insert_skipping_duplicates(session, table).returning(table.c.idempotency_key,
                                                                                       table.c.id)
    return _NEW_TRANSACTIONS[name]


@event.listens_for(Session, "before_commit")
def _apply_late_before_commit(session: Session) -> None:
    if not session.in_nested_transaction():  # at the transaction's own commit, not a savepoint's release
        apply_late(session)


def _change(legs: list[Leg]) -> dict[int, int]:
    change: dict[int, int] = {}
    for leg in legs:
        change[leg.account.id] = change.get(leg.account.id, 0) + leg.amount
    return change


def post(session: Session, key: str, kind: str, legs: list[Leg], now: dt.datetime, *, memo: str = "",
         details: dict[str, Any] | None = None, project_id: int | None = None, task_id: int | None = None,
         annotation_id: int | None = None, assignment_id: int | None = None,
         reverses_id: int | None = None, review_lease_id: int | None = None) -> LedgerTransaction:
    """Post a balanced transaction once per `key`; a retry with the same legs returns the first posting."""
    _check_legs(legs)
    # Lock the accounts in id order (every poster does, so two postings never deadlock), then look for the key:
    # a concurrent posting of the same key has committed by the time the locks are ours, and is seen here.
    locked = lock(session, [leg.account for leg in legs])
    existing = session.scalar(select(LedgerTransaction).where(LedgerTransaction.idempotency_key == key))
    if existing is not None:
        if _fingerprint(session, existing.id) != sorted((leg.account.id, leg.amount) for leg in legs):
            raise IdempotencyKeyReused(f"The key {key!r} was already used for a different posting.")
        return existing
    change = _change(legs)
    for account_id, delta in change.items():
        _check_balance(locked[account_id], delta)
    transaction = LedgerTransaction(idempotency_key=key, kind=kind, memo=memo[:500], details=details or {},
                                    reverses_id=reverses_id, project_id=project_id, task_id=task_id,
                                    annotation_id=annotation_id, assignment_id=assignment_id,
                                    review_lease_id=review_lease_id, created_at=now)
    session.add(transaction)
    session.flush()
    session.execute(Entry.__table__.insert(), [{"transaction_id": transaction.id, "account_id": leg.account.id,
                                                "amount": leg.amount} for leg in legs])
    for account_id, delta in change.items():
        locked[account_id].balance += delta
        session.info.get(_SEEN, {}).pop(account_id, None)
    session.flush()
    return transaction


def _check_balance(holder: Account, delta: int) -> None:
    """Refuse, before anything is written, a change that would take the account below zero (where it may not go)
    or past BALANCE_LIMIT either way."""
    after = holder.balance + delta
    if not ACCOUNT_KINDS[holder.kind] and after < 0:
        raise InsufficientFunds(f"The {holder.kind.replace('_', ' ')} holds {holder.balance} and cannot give "
                                f"{-delta}.", balance=holder.balance, wanted=-delta)
    if abs(after) > BALANCE_LIMIT:
        raise BalanceLimit(f"The {holder.kind.replace('_', ' ')} account would pass the ledger's limit of "
                           f"{BALANCE_LIMIT} minor units.")


def _check_legs(legs: list[Leg]) -> None:
    if len(legs) < 2:
        raise ValueError("a transaction needs at least two legs")
    if len({leg.account.currency for leg in legs}) != 1:
        raise ValueError("a transaction stays in one currency")
    for leg in legs:
        whole = isinstance(leg.amount, int) and not isinstance(leg.amount, bool)
        if not whole or leg.amount == 0 or abs(leg.amount) > MAX_AMOUNT:
            raise ValueError(f"a leg must be a non-zero whole amount of at most {MAX_AMOUNT}: {leg.amount!r}")
    if sum(leg.amount for leg in legs) != 0:
        raise ValueError("a transaction's legs must sum to zero")


def _fingerprint(session: Session, transaction_id: int) -> list[tuple[int, int]]:
    return sorted(tuple(row) for row in session.execute(
        select(Entry.account_id, Entry.amount).where(Entry.transaction_id == transaction_id)).all())


def reverse(session: Session, transaction_id: int, key: str, now: dt.datetime, memo: str = "") -> LedgerTransaction:
    """A transaction undoing another, naming it; a transaction is reversed at most once."""
    original = session.get(LedgerTransaction, transaction_id)
    if original is None:
        raise ValueError(f"no transaction {transaction_id}")
    done = session.scalar(select(LedgerTransaction).where(LedgerTransaction.reverses_id == transaction_id))
    if done is not None and done.idempotency_key != key:
        raise Conflict(f"Transaction {transaction_id} was already reversed by {done.id}.")
    rows = session.execute(select(Entry.account_id, Entry.amount).where(Entry.transaction_id == transaction_id)
                           .order_by(Entry.id)).all()
    legs = [Leg(session.get(Account, account_id), -amount) for account_id, amount in rows]
    return post(session, key, "reversal", legs, now, memo=memo or f"reverses #{transaction_id}",
                details={"reverses": transaction_id}, project_id=original.project_id, task_id=original.task_id,
                annotation_id=original.annotation_id, assignment_id=original.assignment_id,
                reverses_id=transaction_id, review_lease_id=original.review_lease_id)


# Where an answer's pay lands: pending until its task settles, then available.
EARNED_INTO = ("wallet_pending", "wallet_available")


def entry_sums(*by: ColumnElement, kinds: tuple[str, ...], where: tuple[ColumnElement, ...] = ()) -> Select:
    """The sum of the entries on accounts of `kinds` (column `total`), grouped by the columns `by` (none: one
    sum), filtered by `where` over the entry, its transaction (LedgerTransaction) and its account (Account).
    The one shape of every "how much moved where" question the money domain asks."""
    statement = (select(*by, func.coalesce(func.sum(Entry.amount), 0).label("total")).select_from(Entry)
                 .join(LedgerTransaction, LedgerTransaction.id == Entry.transaction_id)
                 .join(Account, Account.id == Entry.account_id)
                 .where(Account.kind.in_(kinds), *where))
    return statement.group_by(*by) if by else statement


def balance(session: Session, holder: Account) -> int:
    """The account's balance as the sum of its entries (the cached `balance` must equal it)."""
    return int(session.scalar(select(func.coalesce(func.sum(Entry.amount), 0)).where(
        Entry.account_id == holder.id)))


def verify(session: Session) -> list[str]:
    """Every breach of the ledger's invariants, in words; an empty list when the books are right."""
    breaches = []
    for transaction_id, total, legs in session.execute(
            select(Entry.transaction_id, func.sum(Entry.amount), func.count()).group_by(Entry.transaction_id)
            .having((func.sum(Entry.amount) != 0) | (func.count() < 2))):
        breaches.append(f"transaction {transaction_id} does not balance: {legs} entries summing to {total}")
    orphans = session.scalars(select(LedgerTransaction.id).where(
        ~select(Entry.id).where(Entry.transaction_id == LedgerTransaction.id).exists())).all()
    breaches += [f"transaction {t} has no entries" for t in orphans]
    sums = dict(session.execute(select(Entry.account_id, func.sum(Entry.amount)).group_by(Entry.account_id)).all())
    for holder in session.scalars(select(Account).order_by(Account.id)):
        actual = int(sums.get(holder.id, 0))
        if holder.balance != actual:
            breaches.append(f"account {holder.id} ({holder.kind}) caches {holder.balance} but its entries sum to "
                            f"{actual}")
        if not ACCOUNT_KINDS.get(holder.kind, True) and actual < 0:
            breaches.append(f"account {holder.id} ({holder.kind}) is below zero: {actual}")
    return breaches
