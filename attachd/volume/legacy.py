"""The pre-3.27 attach API (volume actions) over the attachments of
:mod:`attachd.volume.attach`: the same attachments and state machine, found by volume and
connector instead of by id.
"""

from oslo_utils import excutils

from attachd import exception
from attachd.drivers import base as drivers_base
from attachd.i18n import _
from attachd.objects import fence as fence_obj
from attachd.objects import fields
from attachd.objects import volume_attachment as attachment_obj
from attachd.volume import attach
from attachd.volume import clients

AttachStatus = fields.VolumeAttachStatus

def _live(context, volume):
    return list(attachment_obj.VolumeAttachmentList.get_all_by_volume(context, volume.id))


def find_for_connector(context, volume, connector, live=None):
    """The volume's attachment connected with the same host connection as ``connector``.

    :param live: the volume's live attachments, when the caller read them already.
    """
    key = drivers_base.connection_key(connector)
    for attachment in live if live is not None else _live(context, volume):
        if key is not None and attachment.connection_key == key:
            return attachment
    return None


def _unconnected_reservation(live):
    for attachment in live:
        if attachment.attach_status == AttachStatus.RESERVED and not attachment.connector:
            return attachment
    return None


def reserve(context, volume):
    """os-reserve: a reservation as :func:`reserve` makes (no instance yet), and the volume
    ``attaching`` as Cinder's reserve_volume leaves it (tempest's
    test_reserve_unreserve_volume checks that status)."""
    attach.reserve(context, volume)
    # Compare-and-swap: a concurrent call that moved the volume on keeps its status.
    volume.conditional_update({'status': fields.VolumeStatus.ATTACHING},
                              {'status': fields.VolumeStatus.RESERVED})


def unreserve(context, volume):
    """Drop the volume's reservations that were never connected nor given an instance
    (one compare-and-swap: a reservation connected meanwhile is kept)."""
    attachment_obj.VolumeAttachment.unreserve(context, volume.id)


def _attached_instance(live):
    """The one server the volume is attached to, or None (none, or several)."""
    instances = {a.instance_uuid for a in live if a.attach_status == AttachStatus.ATTACHED}
    return instances.pop() if len(instances) == 1 else None


def initialize_connection(context, volume, connector):
    """Connect the volume for ``connector`` through an attachment: the one already connected
    for this host, else the pending reservation (os-reserve), else a new reservation.

    As in Cinder, a volume in use keeps its status. A host that is already using it (Nova's
    hard reboot refreshing the connection) is connected again by the manager without any
    change to its attachment. Another host (the destination of Nova's legacy live
    migration) gets an attachment of its own for the same server, ``attaching``, which the
    server's attachment takes over when the source's connection is terminated.

    :returns: the connection_info in the legacy nested form ``{driver_volume_type, data}``.
    """
    attach.check_connector(connector)
    # One read of the volume's attachments chooses the attachment and serves the conflict
    # check; the manager and the recorded connection check again under their locks.
    live = _live(context, volume)
    attachment = find_for_connector(context, volume, connector, live)
    if attachment is not None and attachment.attach_status == AttachStatus.ATTACHED:
        return clients.manager_api().initialize_connection(context, volume, connector)
    attachment = attachment or _unconnected_reservation(live)
    created = attachment is None
    if created:
        attachment = attach.reserve(context, volume, _attached_instance(live))
        live = list(live) + [attachment]
    try:
        attachment = attach.connect(context, volume, attachment, connector, live)
    except Exception:
        with excutils.save_and_reraise_exception():
            if created:
                attach.roll_back(context, volume, attachment)
    return nested_connection_info(attachment.connection_info)


def terminate_connection(context, volume, attachment):
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
        attach.disconnect(context, volume, attachment)
        if successor is not None:
            attachment.take_over(successor)
    elif any(a.attach_status == AttachStatus.ATTACHED for a in others):
        attach.delete(context, volume, attachment, live)
    else:
        attach.disconnect(context, volume, attachment)


def nested_connection_info(flat):
    """The pre-3.27 form of a flat connection_info: ``driver_volume_type`` + ``data``."""
    data = dict(flat or {})
    driver_volume_type = data.pop('driver_volume_type', None)
    return {'driver_volume_type': driver_volume_type, 'data': data}


def mark_attached(context, volume, instance_uuid=None, host_name=None, mountpoint=None):
    """Mark the volume attached to a server or host (os-attach): records them on the
    pending attachment (the connected one first) and completes it, reserving one first
    when none is pending.

    :returns: the id of the completed attachment.
    :raises HostFenced: ``host_name`` is fenced.
    """
    if host_name:
        # FENCING HOOK: os-attach records the host; a fenced host gets nothing.
        fence_obj.Fence.check_not_fenced(context, host_name)
    return attachment_obj.VolumeAttachment.mark_attached(context, volume, instance_uuid,
                                                         host_name, mountpoint)


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
