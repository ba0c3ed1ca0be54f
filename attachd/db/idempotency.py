"""The database API of idempotency keys (table ``idempotency_keys``).

A key belongs to one user of one project (``scope``: ``{'project_id', 'user_id',
'idempotency_key'}``). Winning a key is insert-first: of two requests that insert the same
key at once, the unique constraint lets exactly one commit; the other reads the winner's
row. Every later change is compare-and-swap on the row's ``claim_id`` (the id of the
request holding the key) and ``status``, so a request whose lease ran out and was taken
over cannot overwrite its successor.

Each function is its own transaction: a failed insert poisons a PostgreSQL transaction, so
the claim's insert cannot share one with the statements that follow it. The writes are
retried on deadlock: MySQL reports them between the duplicate inserts of concurrent claims
of a key and its holder's completion or release. The connections and the retry are
``attachd.db.api``'s.
"""

from oslo_db import exception as db_exc
import sqlalchemy as sa

from attachd import statuses
from attachd.db import api as db_api
from attachd.db import models

Status = statuses.IdempotencyKeyStatus

_KEYS = models.IdempotencyKey.__table__
# Rows the purge deletes per statement: a long-idle service must not hold one huge delete.
PURGE_BATCH = 1000
# A claim that loses the insert, then finds no row (its holder released it meanwhile),
# inserts again; past these attempts the key is too contended and the caller gets 409.
_CLAIM_ATTEMPTS = 3


def _in_scope(scope):
    return sa.and_(_KEYS.c.project_id == scope['project_id'],
                   _KEYS.c.user_id == scope['user_id'],
                   _KEYS.c.idempotency_key == scope['idempotency_key'])


@db_api._retry_on_deadlock
def idempotency_key_claim(context, scope, fingerprint, claim_id, lease_until):
    """Claim the key of ``scope`` for the request ``claim_id`` until ``lease_until``.

    :returns: None when the request now holds the key (a new row, or an expired row taken
        over); else the row of the request that holds it or completed it.
    """
    now = db_api.utcnow()
    values = dict(scope, fingerprint=fingerprint, claim_id=claim_id,
                  status=Status.IN_PROGRESS, expires_at=lease_until, response_status=None,
                  response_headers=None, response_body=None, created_at=now, updated_at=now)
    for _attempt in range(_CLAIM_ATTEMPTS):
        try:
            with db_api._writer_connection(context) as conn:
                conn.execute(sa.insert(_KEYS).values(**values))
            return None
        except db_exc.DBDuplicateEntry:
            pass
        with db_api._writer_connection(context) as conn:
            # An expired key is free: its replay window, or the lease of a request that
            # died without releasing it, has ended.
            taken = conn.execute(sa.update(_KEYS).where(
                _in_scope(scope), _KEYS.c.expires_at <= now).values(**values)).rowcount
            if taken:
                return None
            row = conn.execute(sa.select(_KEYS).where(_in_scope(scope))).first()
        if row is not None:
            return row._asdict()
    return idempotency_key_get(context, scope)


def idempotency_key_get(context, scope):
    """The row of the key of ``scope``, or None."""
    with db_api._reader_connection(context) as conn:
        row = conn.execute(sa.select(_KEYS).where(_in_scope(scope))).first()
    return row._asdict() if row is not None else None


@db_api._retry_on_deadlock
def idempotency_key_complete(context, scope, claim_id, values):
    """Store the answer of request ``claim_id``, if it still holds the key.

    :param values: ``response_status``, ``response_headers``, ``response_body`` and the end
        of the replay window, ``expires_at``.
    :returns: True if stored; False when the request's lease ran out and the key was
        purged or taken over meanwhile.
    """
    values = dict(values, status=Status.COMPLETED, updated_at=db_api.utcnow())
    with db_api._writer_connection(context) as conn:
        return conn.execute(sa.update(_KEYS).where(
            _in_scope(scope), _KEYS.c.claim_id == claim_id,
            _KEYS.c.status == Status.IN_PROGRESS).values(**values)).rowcount == 1


@db_api._retry_on_deadlock
def idempotency_key_release(context, scope, claim_id):
    """Free the key that request ``claim_id`` holds (it failed): the next request with
    the key runs. Returns True if the request still held it."""
    with db_api._writer_connection(context) as conn:
        return conn.execute(sa.delete(_KEYS).where(
            _in_scope(scope), _KEYS.c.claim_id == claim_id,
            _KEYS.c.status == Status.IN_PROGRESS)).rowcount == 1


def idempotency_key_purge(context, now=None):
    """Delete the expired keys, :data:`PURGE_BATCH` rows per transaction.

    :returns: how many rows were deleted.
    """
    now = now or db_api.utcnow()
    deleted = 0
    while True:
        with db_api._writer_connection(context) as conn:
            # Ids first: MySQL has no LIMIT in an IN subquery. The delete repeats the
            # condition, so a key claimed again since the select stays.
            ids = conn.execute(sa.select(_KEYS.c.id).where(
                _KEYS.c.expires_at <= now).limit(PURGE_BATCH)).scalars().all()
            if ids:
                deleted += conn.execute(sa.delete(_KEYS).where(
                    _KEYS.c.id.in_(ids), _KEYS.c.expires_at <= now)).rowcount
        if len(ids) < PURGE_BATCH:
            return deleted
