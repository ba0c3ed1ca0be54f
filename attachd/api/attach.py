"""Attaching and detaching volumes: the one implementation behind the attachments API and
the pre-3.27 volume actions.

Both APIs call these functions, so a volume has one state machine: reserve (a
compare-and-swap in the database) -> connect through the volume's manager (which makes the
connection_info; the API never invents it) -> complete; and detach = revoke the host
connection through the manager, then delete the attachment row, which recomputes the
volume's status from the attachments left.
"""

import threading

from oslo_log import log as logging
from oslo_serialization import jsonutils
from oslo_utils import excutils

from attachd import compute
from attachd.conf import CONF
from attachd import exception
from attachd.i18n import _
from attachd.manager import rpcapi
from attachd import notifications
from attachd.objects import fields
from attachd.objects import volume_attachment as attachment_obj

LOG = logging.getLogger(__name__)

AttachStatus = fields.VolumeAttachStatus

_manager_api = None
_manager_api_lock = threading.Lock()


def manager_api():
    """The process's manager RPC client (created on first use, after configuration)."""
    global _manager_api
    with _manager_api_lock:
        if _manager_api is None:
            _manager_api = rpcapi.ManagerAPI()
        return _manager_api


def reset_manager_api():
    """Forget the RPC client and notifier (tests switch between transports)."""
    global _manager_api, _notifier
    with _manager_api_lock:
        _manager_api = None
        _notifier = None


_notifier = None


def _notify(context, event_type, volume, attachment=None):
    """Send one of the notifications the API owns (see attachd.notifications).

    :param volume: the volume, or a function returning it: loaded only when notifications
        are on, so the hot path pays no query for them.
    """
    global _notifier
    if _notifier is None:
        _notifier = notifications.get_notifier()
    if not notifications.enabled(_notifier):
        return
    if callable(volume):
        volume = volume()
    notifications.notify(_notifier, context, event_type, volume, attachment)


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


def _reserve_mode(volume, mode):
    # The deprecated readonly admin flag forces read-only attachments, as in Cinder, but
    # only when it is really set (Cinder also treats a stored 'False' as set).
    readonly = (volume.admin_metadata.get('readonly') or '').lower() == 'true'
    if readonly:
        return fields.AttachMode.RO
    return mode


def reserve(context, volume, instance_uuid=None, mode=None):
    """Reserve ``volume`` for ``instance_uuid`` (None for a host without a server, as
    glance_store does); returns the new ``reserved`` attachment.

    :raises InvalidVolume: the volume cannot be reserved now (Cinder's wording).
    """
    return attachment_obj.VolumeAttachment.reserve(context, volume.id, instance_uuid,
                                                  _reserve_mode(volume, mode),
                                                  volume.multiattach)


def connect(context, volume, attachment, connector):
    """Have the volume's manager connect ``attachment`` to the host of ``connector``.

    :returns: the attachment as stored after the connection (``attaching``).
    :raises AttachmentConflict: the volume is in error, or is not multiattach and another
        instance is connected to it (checked by the manager before it touches the backend,
        and again under the volume's row lock when it records the connection).
    """
    check_connector(connector)
    recorded = manager_api().attachment_update(context, volume, attachment, connector)
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
                _roll_back(context, volume, attachment)
    _notify(context, notifications.ATTACHMENT_CREATE, volume, attachment)
    return attachment


def _roll_back(context, volume, attachment):
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
    _notify(context, notifications.ATTACHMENT_COMPLETE,
            lambda: _refreshed(attachment.volume), attachment)
    _notify(context, notifications.VOLUME_ATTACH_END, lambda: attachment.volume, attachment)


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
            manager_api().attachment_delete(context, volume, attachment)
        else:
            # Nothing for the manager to do, so it sends no detach.start either.
            _notify(context, notifications.VOLUME_DETACH_START, volume, attachment)
        try:
            remaining = attachment.destroy(only_if_unchanged=True)
        except exception.AttachmentChanged:
            LOG.info('Attachment %s was connected while being deleted; revoking again',
                     attachment.id)
            continue
        _notify(context, notifications.ATTACHMENT_DELETE, volume, attachment)
        # detach.end reports the status recomputed from the attachments left.
        _notify(context, notifications.VOLUME_DETACH_END,
                lambda: _refreshed(volume), attachment)
        return remaining, shared
    raise exception.AttachmentChanged(attachment_id=attachment.id)


def _refreshed(volume):
    volume.refresh()
    return volume


def disconnect(context, volume, attachment):
    """Revoke the host connection but keep the reservation (legacy terminate_connection)."""
    if attachment.connector:
        manager_api().attachment_delete(context, volume, attachment)
    attachment.disconnected()


# --- the pre-3.27 API: the same attachments, found by volume and connector ---------------------

def _connection_key(connector):
    return (connector or {}).get('initiator') or (connector or {}).get('host')


def _live(context, volume):
    return list(attachment_obj.VolumeAttachmentList.get_all_by_volume(context, volume.id))


def find_for_connector(context, volume, connector):
    """The volume's attachment connected with the same host connection as ``connector``."""
    key = _connection_key(connector)
    for attachment in _live(context, volume):
        if key is not None and attachment.connection_key == key:
            return attachment
    return None


def _unconnected_reservation(context, volume, instance_uuid=None):
    for attachment in _live(context, volume):
        if (attachment.attach_status == AttachStatus.RESERVED and not attachment.connector
                and (instance_uuid is None or attachment.instance_uuid in (None,
                                                                          instance_uuid))):
            return attachment
    return None


def legacy_reserve(context, volume):
    """os-reserve: a reservation as :func:`reserve` makes (no instance yet), and the volume
    ``attaching`` as Cinder's reserve_volume leaves it (tempest's
    test_reserve_unreserve_volume checks that status)."""
    reserve(context, volume)
    # Compare-and-swap: a concurrent call that moved the volume on keeps its status.
    volume.conditional_update({'status': fields.VolumeStatus.ATTACHING},
                              {'status': fields.VolumeStatus.RESERVED})


def legacy_unreserve(context, volume):
    """Drop the volume's reservations that were never connected nor given an instance."""
    for attachment in _live(context, volume):
        if (attachment.attach_status == AttachStatus.RESERVED and not attachment.connector
                and not attachment.instance_uuid):
            try:
                attachment.destroy()
            except exception.VolumeAttachmentNotFound:
                pass


def _attached_instance(live):
    """The one server the volume is attached to, or None (none, or several)."""
    instances = {a.instance_uuid for a in live if a.attach_status == AttachStatus.ATTACHED}
    return instances.pop() if len(instances) == 1 else None


def legacy_initialize_connection(context, volume, connector):
    """Connect the volume for ``connector`` through an attachment: the one already connected
    for this host, else the pending reservation (os-reserve), else a new reservation.

    As in Cinder, a volume in use keeps its status. A host that is already using it (Nova's
    hard reboot refreshing the connection) is connected again by the manager without any
    change to its attachment. Another host (the destination of Nova's legacy live
    migration) gets an attachment of its own for the same server, ``attaching``, which the
    server's attachment takes over when the source's connection is terminated.

    :returns: the connection_info in the legacy nested form ``{driver_volume_type, data}``.
    """
    check_connector(connector)
    attachment = find_for_connector(context, volume, connector)
    if attachment is not None and attachment.attach_status == AttachStatus.ATTACHED:
        return manager_api().initialize_connection(context, volume, connector)
    attachment = attachment or _unconnected_reservation(context, volume)
    created = attachment is None
    if created:
        attachment = reserve(context, volume, _attached_instance(_live(context, volume)))
    try:
        attachment = connect(context, volume, attachment, connector)
    except Exception:
        with excutils.save_and_reraise_exception():
            if created:
                _roll_back(context, volume, attachment)
    return nested_connection_info(attachment.connection_info)


def legacy_terminate_connection(context, volume, attachment):
    """Revoke ``attachment``'s host connection (os-terminate_connection).

    * An attached attachment stays attached (the volume keeps its status, as in Cinder);
      if its server connected the volume from another host meanwhile (Nova's legacy live
      migration), the attachment takes over that connection.
    * The extra connection of a server that is attached from another host (a rolled back
      live migration) is deleted.
    * Otherwise the attachment is a plain reservation again.
    """
    live = _live(context, volume)
    others = [a for a in live if a.id != attachment.id and attachment.instance_uuid
              and a.instance_uuid == attachment.instance_uuid]
    if attachment.attach_status == AttachStatus.ATTACHED:
        successor = next((a for a in others if a.connector
                          and a.attach_status == AttachStatus.ATTACHING), None)
        disconnect(context, volume, attachment)
        if successor is not None:
            attachment.take_over(successor)
    elif any(a.attach_status == AttachStatus.ATTACHED for a in others):
        delete(context, volume, attachment, live)
    else:
        disconnect(context, volume, attachment)


def nested_connection_info(flat):
    """The pre-3.27 form of a flat connection_info: ``driver_volume_type`` + ``data``."""
    data = dict(flat or {})
    driver_volume_type = data.pop('driver_volume_type', None)
    return {'driver_volume_type': driver_volume_type, 'data': data}


def legacy_attach(context, volume, instance_uuid=None, host_name=None, mountpoint=None):
    """Mark the volume attached to a server or host (os-attach): records them on the
    pending attachment (the connected one first) and completes it."""
    candidates = [a for a in _live(context, volume)
                  if a.attach_status in (AttachStatus.ATTACHING, AttachStatus.RESERVED)
                  and (not a.instance_uuid or a.instance_uuid == instance_uuid)]
    candidates.sort(key=lambda a: not a.connector)
    attachment = candidates[0] if candidates else reserve(context, volume, instance_uuid)
    attachment.record_host(instance_uuid, host_name, mountpoint)
    attachment.complete()
    return attachment


def find_for_detach(context, volume, attachment_id=None):
    """The attachment os-detach / os-force_detach names, which must be the volume's.

    :raises InvalidVolume: no id given while the volume has several attachments, or the
        id belongs to another volume.
    """
    live = _live(context, volume)
    if attachment_id is None:
        if len(live) == 1:
            return live[0]
        if not live:
            raise exception.InvalidVolume(reason=_('volume %s is not attached') % volume.id)
        raise exception.InvalidVolume(reason=_(
            'Detach volume failed: more than one attachment, but no attachment_id provided.'))
    for attachment in live:
        if attachment.id == attachment_id:
            return attachment
    raise exception.InvalidVolume(reason=_('attachment %(a)s does not belong to volume '
                                           '%(v)s') % {'a': attachment_id, 'v': volume.id})
