"""Notifications about volumes and attachments, through oslo.messaging's notifier.

Both sides send them: the manager the ones about what the backend did
(``volume.attach.start``, ``attachment.update``, ``volume.detach.start`` of a connected
attachment), the API the ones about what the caller did (``attachment.create``,
``attachment.complete``, ``attachment.delete``, ``volume.attach.end``, ``volume.detach.end``,
``volume.detach.start`` of a plain reservation). The manager's reclaimer deletes abandoned
reservations and sends what an API delete would.

Event types and the payload follow Cinder's legacy notifications (priority INFO,
publisher ``volume.<host>``), with ``attachment_id`` added where an attachment is involved.
Where notifications go is oslo.messaging's business: ``[oslo_messaging_notifications]
driver`` (none by default, so nothing is sent) and ``transport_url``.
"""

import threading

from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_messaging import opts as messaging_opts

from attachd.conf import CONF
from attachd.conf import messaging as messaging_conf

LOG = logging.getLogger(__name__)

VOLUME_ATTACH_START = 'volume.attach.start'
VOLUME_ATTACH_END = 'volume.attach.end'
VOLUME_DETACH_START = 'volume.detach.start'
VOLUME_DETACH_END = 'volume.detach.end'
ATTACHMENT_CREATE = 'attachment.create'
ATTACHMENT_UPDATE = 'attachment.update'
ATTACHMENT_COMPLETE = 'attachment.complete'
ATTACHMENT_DELETE = 'attachment.delete'
# attachd's own, sent by the API (attachd.volume.fencing): a host was fenced, or its
# fence lifted.
FENCE_CREATE = 'fence.create'
FENCE_DELETE = 'fence.delete'

_transport = None
_lock = threading.Lock()


def _register_notifier_opts():
    # oslo.messaging registers its [oslo_messaging_notifications] options only when it
    # builds the transport; attachd reads them first to pick the embedded default.
    for group, opts in messaging_opts.list_opts():
        if group == 'oslo_messaging_notifications':
            CONF.register_opts(opts, group=group)


def _notification_transport():
    global _transport
    with _lock:
        if _transport is None:
            _register_notifier_opts()
            url = None
            if not (CONF.oslo_messaging_notifications.transport_url
                    or messaging_conf.transport_url(CONF)):
                # The embedded mode has no broker; an in-memory transport lets the log
                # and test notification drivers work all the same.
                url = 'fake://'
            else:
                messaging_conf.set_rabbit_defaults(CONF)
            _transport = messaging.get_notification_transport(CONF, url=url)
        return _transport


def reset():
    """Forget the notification transport (tests, or a configuration change)."""
    global _transport
    with _lock:
        if _transport is not None:
            _transport.cleanup()
        _transport = None


def get_notifier(host=None):
    """A notifier publishing as ``volume.<host>`` (``[DEFAULT] host`` by default)."""
    transport = _notification_transport()
    return messaging.Notifier(transport, publisher_id='volume.%s' % (host or CONF.host))


def payload(volume, attachment=None):
    """Cinder's volume usage payload, plus the attachment's identity."""
    data = {
        'tenant_id': volume.project_id,
        'user_id': volume.user_id,
        'volume_id': volume.id,
        'display_name': volume.name,
        'host': volume.host,
        'availability_zone': volume.availability_zone,
        'volume_type': volume.volume_type_id,
        'size': volume.size,
        'status': volume.status,
        'attach_status': volume.attach_status,
        'multiattach': volume.multiattach,
        'created_at': _isotime(volume.created_at),
        'launched_at': _isotime(volume.launched_at),
    }
    if attachment is not None:
        data['attachment_id'] = attachment.id
        data['instance_uuid'] = attachment.instance_uuid
        data['attach_status'] = attachment.attach_status
        data['attached_host'] = attachment.attached_host
    return data


def _isotime(value):
    return value.isoformat() if value is not None else None


def enabled(notifier):
    """Whether ``notifier`` sends anywhere. oslo.messaging calls a notifier with no driver
    at all "enabled" (only ``['noop']`` is not); building and serializing payloads for it
    cost the hot path for notifications that went nowhere."""
    return (notifier is not None and notifier.is_enabled()
            and bool(CONF.oslo_messaging_notifications.driver))


def notify(notifier, context, event_type, volume, attachment=None):
    """Send ``event_type`` at INFO about ``volume`` (and ``attachment``), if the notifier is
    :func:`enabled`.

    A failure to notify is logged and never fails the operation it reports.
    """
    if not enabled(notifier):
        return
    try:
        notifier.info(context, event_type, payload(volume, attachment))
    except Exception:
        LOG.exception('Failed to send notification %s for volume %s', event_type, volume.id)


def notify_fence(notifier, context, event_type, fence):
    """Send ``event_type`` (``fence.create``, ``fence.delete``) at INFO about ``fence``:
    its host, when it was created and the attachments it fenced. Never fails the call."""
    if not enabled(notifier):
        return
    try:
        notifier.info(context, event_type, {
            'host': fence.host,
            'created_at': _isotime(fence.created_at),
            'attachments': list(fence.attachments),
        })
    except Exception:
        LOG.exception('Failed to send notification %s for host %s', event_type, fence.host)
