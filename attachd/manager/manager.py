"""Server side of the manager RPC API: drives one backend through its connector driver.

The manager never decides statuses on its own; it records what the backend did through the
objects (``VolumeAttachment.connected``), whose DB API recomputes the volume's status under
its row lock. The method list matches ``attachd.manager.rpcapi.ManagerAPI``.
"""

from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_utils import excutils
from oslo_utils import timeutils

from attachd import exception
from attachd.manager import rpcapi
from attachd.objects import fields
from attachd.objects import volume_attachment as attachment_obj

LOG = logging.getLogger(__name__)


def flatten_connection_info(conn_info):
    """Cinder's flat connection_info: the driver's ``data`` lifted to the top level, with the
    remaining top-level keys (``driver_volume_type``) merged over it."""
    flat = dict(conn_info.get('data') or {})
    flat.update({k: v for k, v in conn_info.items() if k != 'data'})
    return flat


class Manager:
    """One backend's manager."""

    RPC_API_VERSION = rpcapi.RPC_API_VERSION
    target = messaging.Target(version=RPC_API_VERSION)

    def __init__(self, host, backend, driver, notifier=None):
        self.host = host
        self.backend = backend
        self.server = '%s@%s' % (host, backend)
        self.driver = driver
        self.notifier = notifier

    # --- notifications --------------------------------------------------------------------

    def _notify(self, context, event_type, payload):
        if self.notifier is None:
            return
        try:
            self.notifier.info(context, event_type, payload)
        except Exception:
            # A notification must never fail the operation it reports.
            LOG.exception('Failed to send notification %s', event_type)

    @staticmethod
    def _payload(volume, attachment=None):
        payload = {'volume_id': volume.id, 'tenant_id': volume.project_id,
                   'status': volume.status, 'host': volume.host}
        if attachment is not None:
            payload['attachment_id'] = attachment.id
            payload['instance_uuid'] = attachment.instance_uuid
        return payload

    # --- volumes --------------------------------------------------------------------------

    def create_volume(self, context, volume):
        """Create the backend storage; the volume goes ``available`` or ``error``."""
        try:
            update = self.driver.create_volume(volume) or {}
        except Exception:
            LOG.exception('Creating volume %s failed', volume.id)
            volume.conditional_update({'status': fields.VolumeStatus.ERROR},
                                      {'status': fields.VolumeStatus.CREATING})
            return
        update = dict(update)
        update['status'] = fields.VolumeStatus.AVAILABLE
        update['launched_at'] = timeutils.utcnow()
        if not volume.conditional_update(update, {'status': fields.VolumeStatus.CREATING}):
            LOG.warning('Volume %s left creating while it was created; not marked '
                        'available', volume.id)

    def delete_volume(self, context, volume):
        """Delete the backend storage and the volume row (volume is ``deleting``)."""
        try:
            self.driver.delete_volume(volume)
        except Exception:
            LOG.exception('Deleting volume %s failed', volume.id)
            volume.conditional_update({'status': fields.VolumeStatus.ERROR_DELETING},
                                      {'status': fields.VolumeStatus.DELETING})
            return
        volume.destroy()

    @staticmethod
    def _save_model_update(volume, model_update):
        if model_update:
            for key, value in model_update.items():
                setattr(volume, key, value)
            volume.save()

    # --- attachments ----------------------------------------------------------------------

    def _attach_mode(self, volume, attachment, connector):
        """rw or ro: the attachment's own mode, else the volume's readonly flag, else the
        connector's legacy ``mode``, else rw."""
        if attachment.attach_mode in fields.AttachMode.ALL:
            return attachment.attach_mode
        readonly = volume.admin_metadata.get('readonly')
        if readonly is not None and readonly.lower() == 'true':
            return fields.AttachMode.RO
        mode = connector.get('mode')
        return mode if mode in fields.AttachMode.ALL else fields.AttachMode.RW

    def _connection_options(self, volume, attachment, connector, mode, conn_info):
        data = conn_info.setdefault('data', {})
        data['access_mode'] = mode
        data.setdefault('encrypted', bool(volume.encryption_key_id))
        data.setdefault('qos_specs', None)
        data.setdefault('cacheable', False)
        data.setdefault('volume_id', volume.id)
        flat = flatten_connection_info(conn_info)
        flat['attachment_id'] = attachment.id
        flat['enforce_multipath'] = bool(connector.get('enforce_multipath', False))
        return flat

    def _other_connectors(self, context, volume, attachment_id):
        return [a.connector for a in attachment_obj.VolumeAttachmentList.get_all_by_volume(
            context, volume.id) if a.id != attachment_id and a.connector]

    def attachment_update(self, context, volume, attachment, connector):
        """Export the volume to the host of ``connector`` and record the connection.

        On any failure the export made here is removed again and the attachment and volume
        keep their previous state.

        :returns: the flat connection_info.
        """
        self._notify(context, 'volume.attach.start', self._payload(volume, attachment))
        connector = dict(connector)
        mode = self._attach_mode(volume, attachment, connector)
        connector['mode'] = mode
        try:
            self.driver.validate_connector(connector)
        except exception.InvalidConnector:
            raise
        except exception.AttachdException as exc:
            raise exception.InvalidConnector(reason=str(exc))
        attachment.check_connectable()
        previously_connected = bool(self._other_connectors(context, volume, attachment.id))
        model_update = self.driver.create_export(volume, connector)
        self._save_model_update(volume, model_update)
        try:
            conn_info = self.driver.initialize_connection(volume, connector, attachment.id)
            info = self._connection_options(volume, attachment, connector, mode, conn_info)
            attachment.connected(connector, info, attach_mode=mode)
        except Exception:
            with excutils.save_and_reraise_exception():
                LOG.warning('Connecting attachment %s failed; undoing its export',
                            attachment.id)
                self._undo_connection(context, volume, attachment, connector,
                                      previously_connected)
        self._notify(context, 'attachment.update', self._payload(volume, attachment))
        return info

    def _undo_connection(self, context, volume, attachment, connector, keep_export):
        others = self._other_connectors(context, volume, attachment.id)
        try:
            shared = self.driver.terminate_connection(volume, connector, others)
            if not shared and not keep_export and not others:
                self.driver.remove_export(volume)
        except Exception:
            LOG.exception('Undoing the connection of attachment %s failed', attachment.id)

    def attachment_delete(self, context, volume, attachment):
        """Revoke the attachment's host connection; remove the export when it was the last.

        :returns: True when other attachments still share the host connection.
        """
        self._notify(context, 'volume.detach.start', self._payload(volume, attachment))
        if not attachment.connector:
            return False
        others = self._other_connectors(context, volume, attachment.id)
        shared = bool(self.driver.terminate_connection(volume, attachment.connector, others))
        if not others:
            try:
                self.driver.remove_export(volume)
            except Exception:
                # The row goes anyway (Cinder bug 1935057); the reconciler on the next
                # start removes exports no live attachment owns.
                LOG.exception('Removing the export of volume %s failed', volume.id)
        return shared

    # --- the pre-3.27 API -----------------------------------------------------------------

    def initialize_connection(self, context, volume, connector):
        """Legacy connection without an attachment id: export and connect; the caller
        records it on the volume's reserved attachment."""
        self.driver.validate_connector(connector)
        model_update = self.driver.create_export(volume, connector)
        self._save_model_update(volume, model_update)
        mode = connector.get('mode') or fields.AttachMode.RW
        conn_info = self.driver.initialize_connection(volume, connector, None)
        data = conn_info.setdefault('data', {})
        data.setdefault('access_mode', mode)
        data.setdefault('encrypted', bool(volume.encryption_key_id))
        data.setdefault('qos_specs', None)
        return conn_info

    def terminate_connection(self, context, volume, connector):
        others = [c for c in self._other_connectors(context, volume, None)
                  if not self.driver.shares_connection(c, connector)]
        shared = bool(self.driver.terminate_connection(volume, connector, others))
        if not others and not shared:
            self.driver.remove_export(volume)
        return shared
