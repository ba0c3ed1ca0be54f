"""The database side of fencing a host (see :mod:`attachd.volume.fencing` for the whole
flow).

A fence is a row of ``fences`` keyed by host. Its insert is the compare-and-swap that
decides which of two concurrent fences of a host creates it. The attachments on a fenced
host are marked ``fenced`` one volume at a time, each under the volume's row lock, in the
transaction that recomputes the volume's status.

Connects cannot slip past a fence: the statement that records a connection
(``attachd.db.api._CONNECT``) carries ``NOT EXISTS (a fence of the connector's host)`` in
its WHERE, and the manager checks for a fence under its host lock before it grants access
at the backend (attachd.manager.manager.Manager.attachment_update), in the statement that
reads the volume's attachments (:func:`attachments_of_volume_and_fence`).
"""

from oslo_db import exception as db_exc
import sqlalchemy as sa

from attachd import exception
from attachd import statuses
from attachd.db import api as db_api
from attachd.db import models

AttachStatus = statuses.VolumeAttachStatus

_FENCE = models.Fence.__table__
_ATT = models.VolumeAttachment.__table__
_VOL = models.Volume.__table__

_FENCE_BY_HOST = sa.select(_FENCE).where(_FENCE.c.host == sa.bindparam('host'))
# The volume's live attachments (attachment_get_all_by_volume), each row with the creation
# time of the fence of :host (NULL: not fenced).
_LIVE_BY_VOLUME_WITH_FENCE = db_api._LIVE_BY_VOLUME.add_columns(
    sa.select(_FENCE.c.created_at).where(_FENCE.c.host == sa.bindparam('host'))
    .scalar_subquery().label('fenced_at'))
# What a fence acts on: the live attachments recorded on the host that it has not fenced
# yet (connected ones, and an os-attach'ed or attached one whose connection was
# terminated: it still holds its volume).
_ON_HOST = (_ATT.c.attached_host == sa.bindparam('host'), _ATT.c.deleted == sa.false(),
            _ATT.c.attach_status != AttachStatus.FENCED)
_FENCE_ATTACHMENT = sa.update(_ATT).where(
    _ATT.c.id == sa.bindparam('attachment_id'), *_ON_HOST).values(
    attach_status=AttachStatus.FENCED, connection_info=None, updated_at=sa.bindparam('now'))


def fence_create(context, host):
    """Fence ``host``, unless it is fenced already.

    :returns: ``(fence row, created)``; ``created`` is False when the fence stood already
        (its row is returned as it is).
    """
    try:
        with db_api._writer_connection(context) as conn:
            conn.execute(sa.insert(_FENCE).values(host=host, created_at=db_api._now()))
    except db_exc.DBDuplicateEntry:
        return fence_get(context, host), False
    return fence_get(context, host), True


def fence_get(context, host):
    """The fence of ``host``.

    :raises FenceNotFound: the host is not fenced.
    """
    with db_api._reader_connection(context) as conn:
        row = conn.execute(_FENCE_BY_HOST, {'host': host}).first()
    if row is None:
        raise exception.FenceNotFound(host=host)
    return row


def attachments_of_volume_and_fence(context, volume_id, host):
    """The live attachments of the volume, oldest first, and the fence of ``host`` (None:
    not fenced), in one statement: what the manager reads before it grants ``host``
    access to the volume.

    :returns: ``(attachment rows, fence creation time or None)``.
    """
    with db_api._reader_connection(context) as conn:
        rows = conn.execute(_LIVE_BY_VOLUME_WITH_FENCE,
                            {'volume_id': volume_id, 'host': host}).all()
    if not rows:
        # No attachment to carry the fence's column (the one being granted was deleted).
        try:
            return rows, fence_get(context, host).created_at
        except exception.FenceNotFound:
            return rows, None
    return rows, rows[0].fenced_at


def fence_get_all(context):
    """Every fence, oldest first."""
    with db_api._reader_connection(context) as conn:
        return conn.execute(sa.select(_FENCE).order_by(_FENCE.c.created_at,
                                                       _FENCE.c.host)).all()


def fence_delete(context, host):
    """Lift the fence of ``host``.

    :raises FenceNotFound: the host is not fenced (also when a concurrent lift won).
    """
    with db_api._writer_connection(context) as conn:
        if conn.execute(sa.delete(_FENCE).where(_FENCE.c.host == host)).rowcount != 1:
            raise exception.FenceNotFound(host=host)


def fenced_attachment_ids(context, hosts):
    """``{host: [ids of its live fenced attachments]}``, oldest first."""
    result = {host: [] for host in hosts}
    if not hosts:
        return result
    with db_api._reader_connection(context) as conn:
        rows = conn.execute(
            sa.select(_ATT.c.id, _ATT.c.attached_host)
            .where(_ATT.c.attached_host.in_(list(hosts)), _ATT.c.deleted == sa.false(),
                   _ATT.c.attach_status == AttachStatus.FENCED)
            .order_by(_ATT.c.created_at, _ATT.c.id))
        for row in rows:
            result[row.attached_host].append(row.id)
    return result


def backends_with_attachments_on_host(context, host):
    """The backends (volume ``host``, ``<host>@<backend>``) of the volumes with
    attachments on ``host`` that are not fenced yet."""
    with db_api._reader_connection(context) as conn:
        return set(conn.scalars(
            sa.select(_VOL.c.host).distinct()
            .join(_ATT, _ATT.c.volume_id == _VOL.c.id)
            .where(*_ON_HOST, _VOL.c.deleted == sa.false(), _VOL.c.host.is_not(None)),
            {'host': host}))


def attachment_get_all_on_host(context, backend, host, cluster_name=None):
    """The live attachments on ``host`` not fenced yet, of the volumes of ``backend`` (and,
    given ``cluster_name``, of that cluster's: any member fences them all)."""
    on_backend = _VOL.c.host == backend
    if cluster_name is not None:
        on_backend = sa.or_(on_backend, _VOL.c.cluster_name == cluster_name)
    with db_api._reader_connection(context) as conn:
        return conn.execute(
            sa.select(_ATT, db_api._CONNECTOR).join(_VOL, _VOL.c.id == _ATT.c.volume_id)
            .where(*_ON_HOST, on_backend, _VOL.c.deleted == sa.false())
            .order_by(_ATT.c.volume_id, _ATT.c.created_at, _ATT.c.id),
            {'host': host}).all()


@db_api._retry_on_deadlock
def attachment_fence(context, attachment_id, host):
    """Mark an attachment on ``host`` ``fenced``, forget its connection (its connector's
    ``attachment_specs`` rows, connection_info) and recompute its volume's status, in one
    transaction under the volume's row lock.

    A fenced attachment does not hold its volume: the status is recomputed as if it were
    gone (a volume whose attachments are all fenced is ``available``), so that another
    host can attach a volume that is not multiattach (evacuation).

    :returns: False when it is no longer a live attachment on ``host`` (deleted, fenced,
        or moved to another host meanwhile).
    """
    with db_api._writer_connection(context) as conn:
        try:
            volume_id = db_api._attachment_volume_id(conn, attachment_id)
        except exception.VolumeAttachmentNotFound:
            return False
        volume = db_api._lock_volume(conn, volume_id)
        live = db_api._locked_live_attachments(conn, volume_id)
        now = db_api._now()
        if conn.execute(_FENCE_ATTACHMENT, {'attachment_id': attachment_id, 'host': host,
                                            'now': now}).rowcount != 1:
            return False
        conn.execute(db_api._DELETE_SPECS, {'of_attachment_id': attachment_id, 'now': now})
        db_api._recompute_volume_status(conn, volume_id, volume, [
            AttachStatus.FENCED if row.id == attachment_id else row.attach_status
            for row in live])
        return True
