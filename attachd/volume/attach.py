"""Attaching and detaching volumes: the one implementation behind the attachments API and
the pre-3.27 volume actions.

Both APIs call these functions, so a volume has one state machine: reserve (a
compare-and-swap in the database) -> connect through the volume's manager (which makes the
connection_info; the API never invents it) -> complete; and detach = revoke the host
connection through the manager, then delete the attachment row, which recomputes the
volume's status from the attachments left.
"""

from oslo_log import log as logging
from oslo_serialization import jsonutils
from oslo_utils import excutils

from attachd import exception
from attachd import notifications
from attachd.conf import CONF
from attachd.i18n import _
from attachd.objects import volume_attachment as attachment_obj
from attachd.volume import clients

LOG = logging.getLogger(__name__)

def check_connector(connector):
    """Reject connectors beyond ``[api] max_connector_keys`` / ``max_connector_bytes``: the
    connector is stored and sent to the backend, so its size must be bounded."""
    if len(connector) > CONF.api.max_connector_keys:
        raise exception.InvalidConnector(
            reason=_('it has %(n)d keys, more than the %(max)d allowed')
            % {'n': len(connector), 'max': CONF.api.max_connector_keys})
    size = len(jsonutils.dumps(connector))
    if size > CONF.api.max_connector_bytes:
        raise exception.InvalidConnector(
            reason=_('it is %(n)d bytes long, more than the %(max)d allowed')
            % {'n': size, 'max': CONF.api.max_connector_bytes})


def reserve(context, volume, instance_uuid=None, mode=None):
    """Reserve ``volume`` for ``instance_uuid`` (None for a host without a server, as
    glance_store does); returns the new ``reserved`` attachment.

    :raises InvalidVolume: the volume cannot be reserved now (Cinder's wording).
    """
    return attachment_obj.VolumeAttachment.reserve(context, volume.id, instance_uuid,
                                                  volume.attach_mode(mode),
                                                  volume.multiattach)


def connect(context, volume, attachment, connector, siblings=None):
    """Have the volume's manager connect ``attachment`` to the host of ``connector``.

    :param siblings: the volume's live attachments, read with ``attachment``: the conflict
        check runs on them before the manager is asked (and again under the volume's row
        lock when the connection is recorded, whatever the caller read).

    :returns: the attachment as stored after the connection (``attaching``).
    :raises AttachmentConflict: the volume is in error, or is not multiattach and another
        instance is connected to it.
    """
    check_connector(connector)
    if siblings is not None:
        attachment.check_connectable(volume, siblings)
    recorded = clients.manager_api().attachment_update(context, volume, attachment, connector)
    recorded.volume = volume
    recorded.obj_reset_changes(['volume'])
    return recorded


def create(context, volume, instance_uuid=None, connector=None, mode=None):
    """Reserve, and connect when a connector is given (Nova's live migration).

    A failed connection deletes the reservation again: no orphan ``reserved`` row is left
    and the volume's status is recomputed to what it was.
    """
    if connector:
        check_connector(connector)
    attachment = reserve(context, volume, instance_uuid, mode)
    if connector:
        try:
            attachment = connect(context, volume, attachment, connector)
        except Exception:
            with excutils.save_and_reraise_exception():
                LOG.warning('Connecting new attachment %s failed; deleting its reservation',
                            attachment.id)
                roll_back(context, volume, attachment)
    clients.notify(context, notifications.ATTACHMENT_CREATE, volume, attachment)
    return attachment


def roll_back(context, volume, attachment):
    """Delete a reservation whose connection failed. When the manager connected it after
    all (its answer was lost to a timeout or a broker failure), the connection is revoked
    as a delete would: deleting the row alone would leave that host its access."""
    try:
        attachment.destroy(only_if_unchanged=True)
    except exception.VolumeAttachmentNotFound:
        pass
    except exception.AttachmentChanged:
        try:
            delete(context, volume, attachment_obj.VolumeAttachment.get_by_id(
                context, attachment.id, project_only=False))
        except Exception:
            # The row stays, connected and listed: a delete revokes it later, and the
            # manager's reconciliation keeps exports that a live attachment owns.
            LOG.exception('Attachment %s was connected although its creation failed, '
                          'and revoking it failed too; delete it to revoke the access',
                          attachment.id)


def complete(context, attachment):
    """The host is using the attachment: ``attached``, the volume ``in-use``.

    ``volume.attach.end`` goes out here, once the host confirmed (Cinder bug 1808941).
    """
    attachment.complete()
    clients.notify(context, notifications.ATTACHMENT_COMPLETE,
            lambda: _refreshed(attachment.volume), attachment)
    clients.notify(context, notifications.VOLUME_ATTACH_END, lambda: attachment.volume, attachment)


def check_deletion_allowed(context, attachment):
    """Cinder's rule against detaching a volume under a running server (OSSA-2023-003):
    a connected attachment that belongs to an instance may only be removed by a service
    (Nova's service token), unless ``[api] allow_owner_delete_connected_attachment``, or
    unless Nova says the server no longer uses it.

    Nova is asked only when ``[nova]`` is configured: it then allows the removal when it
    knows no such server or volume on it (the server was deleted) or holds another
    attachment for the volume. Without ``[nova]``, attachd cannot tell and refuses.

    :raises ConflictNovaUsingAttachment: the server (may) still use the attachment.
    :raises NovaUnavailable: Nova could not be asked (as Cinder, the removal is refused).
    """
    if context.is_service or CONF.api.allow_owner_delete_connected_attachment:
        return
    if not (attachment.instance_uuid and attachment.connection_info):
        return
    # Imported here: keystoneauth1 (attachd.conf.nova) is loaded by the processes that may
    # ask Nova, on the first removal that needs it.
    from attachd import compute
    if compute.configured():
        held = compute.server_attachment_id(context, attachment.instance_uuid,
                                            attachment.volume_id)
        if held != attachment.id:
            LOG.warning('Nova holds %s, not attachment %s, for volume %s on server %s: '
                        'removing it, which may leave a device behind on the compute host',
                        held or 'nothing', attachment.id, attachment.volume_id,
                        attachment.instance_uuid)
            return
    raise exception.ConflictNovaUsingAttachment(instance_id=attachment.instance_uuid)


# How often a delete starts over when an update connects the attachment under it.
DELETE_ATTEMPTS = 5


def delete(context, volume, attachment, siblings=None):
    """Revoke the host connection (if any) and delete the attachment.

    The row is deleted only if its connection is still the one revoked: an update that
    connected it meanwhile (Nova retrying, or racing its own delete) makes the delete start
    over with the new connection, so no host keeps access without an attachment.

    :param siblings: the volume's live attachments, when the caller read them with
        ``attachment``.
    :returns: ``(remaining, shared)``: the volume's attachments left, and the ids of those
        that shared the deleted attachment's host connection (it stays up for them).
    :raises AttachmentChanged: it kept changing for ``DELETE_ATTEMPTS`` attempts.
    """
    for attempt in range(DELETE_ATTEMPTS):
        if attempt:
            attachment = attachment_obj.VolumeAttachment.get_by_id(
                context, attachment.id, project_only=False)
            check_deletion_allowed(context, attachment)
            siblings = None
        shared = attachment.shared_connections(siblings)
        if attachment.connector:
            clients.manager_api().attachment_delete(context, volume, attachment)
        else:
            # Nothing for the manager to do, so it sends no detach.start either.
            clients.notify(context, notifications.VOLUME_DETACH_START, volume, attachment)
        try:
            remaining = attachment.destroy(only_if_unchanged=True)
        except exception.AttachmentChanged:
            LOG.info('Attachment %s was connected while being deleted; revoking again',
                     attachment.id)
            continue
        clients.notify(context, notifications.ATTACHMENT_DELETE, volume, attachment)
        # detach.end reports the status recomputed from the attachments left.
        clients.notify(context, notifications.VOLUME_DETACH_END,
                lambda: _refreshed(volume), attachment)
        return remaining, shared
    raise exception.AttachmentChanged(attachment_id=attachment.id)


def _refreshed(volume):
    volume.refresh()
    return volume


def disconnect(context, volume, attachment):
    """Revoke the host connection but keep the reservation (legacy terminate_connection)."""
    if attachment.connector:
        clients.manager_api().attachment_delete(context, volume, attachment)
    attachment.disconnected()
