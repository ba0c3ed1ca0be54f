"""Attachment views (Cinder's ``cinder/api/v3/views/attachments.py`` shape)."""

from attachd.api.views import common
from attachd.objects import base as objects_base


def _timestamp(value):
    # Cinder renders an unset attach/detach time as the empty string.
    return common.timestamp(value) or ''


def summary(attachment):
    return {
        'id': attachment.id,
        'status': attachment.attach_status,
        'instance': attachment.instance_uuid,
        'volume_id': attachment.volume_id,
    }


def detail(attachment, show_secrets, volume_format=None, shared_connections=None):
    """The detail view; ``show_secrets`` whether the credentials in connection_info are
    shown (else ``***``: policy ``volume:attachment_show_connection_secrets``),
    ``volume_format`` is the volume's ``format`` admin metadata (shown in connection_info
    on show), ``shared_connections`` the ids of attachments sharing this one's host
    connection (attachd's addition)."""
    view = summary(attachment)
    connection_info = dict(attachment.connection_info or {})
    if not show_secrets:
        connection_info = objects_base.mask_secrets(connection_info)
    if volume_format is not None:
        connection_info['format'] = volume_format
    view.update({
        'attached_at': _timestamp(attachment.attach_time),
        'detached_at': _timestamp(attachment.detach_time),
        'attach_mode': attachment.attach_mode or 'null',
        'connection_info': connection_info,
    })
    if shared_connections is not None:
        view['shared_connections_by_attachment'] = shared_connections
    return view
