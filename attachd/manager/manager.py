"""Server side of the manager RPC API: drives one backend through its connector driver.

The manager never decides statuses on its own; it records what the backend did through the
objects (``VolumeAttachment.connected``), whose DB API recomputes the volume's status under
its row lock. The RPC methods (marked ``@messaging.expose``) match
``attachd.manager.rpcapi.ManagerAPI``; the other public methods are the manager's own
maintenance, run by ``attachd.manager.service`` and never reachable over RPC.

Work on one volume is serialized by a lock per volume: the export of a volume and the access
list of its target are shared by all its attachments, and a connect racing a disconnect of
the same volume must not see half of the other. Every method that reaches the driver for a
volume holds it (create, delete, re-image, attachment update and delete, the legacy
initialize_connection, and each volume of the start-up reconciliation). In a cluster
(``[DEFAULT] cluster``) it is the cluster's lock (``attachd.coordination``), so that two
members never interleave on one volume either.
"""

import collections
import contextlib
import datetime

from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_utils import excutils
from oslo_utils import timeutils

from attachd import coordination
from attachd import exception
from attachd import notifications
from attachd.conf import CONF
from attachd.manager import rpcapi
from attachd.objects import fence as fence_obj
from attachd.objects import fields
from attachd.objects import volume as volume_obj
from attachd.objects import volume_attachment as attachment_obj

LOG = logging.getLogger(__name__)


def flatten_connection_info(conn_info):
    """Cinder's flat connection_info: the driver's ``data`` lifted to the top level, with the
    remaining top-level keys (``driver_volume_type``) merged over it."""
    flat = dict(conn_info.get('data') or {})
    flat.update({k: v for k, v in conn_info.items() if k != 'data'})
    return flat


@contextlib.contextmanager
def driver_errors(volume_id, what):
    """Let attachd's exceptions through; turn anything else a driver raises into a
    DriverError that says what failed, so callers get a clear error and never a bare 500."""
    try:
        yield
    except exception.AttachdException:
        raise
    except Exception as exc:
        LOG.exception('%s of volume %s failed', what, volume_id)
        raise exception.DriverError(reason='%s of volume %s failed (%s)'
                                    % (what, volume_id, type(exc).__name__))


class Manager:
    """One backend's manager: ``<host>@<backend>``."""

    RPC_API_VERSION = rpcapi.RPC_API_VERSION
    target = messaging.Target(version=RPC_API_VERSION)

    def __init__(self, host, backend, driver, notifier=None, cluster_name=None,
                 coordinator=None):
        self.host = host
        self.backend = backend
        self.server = '%s@%s' % (host, backend)
        self.driver = driver
        self.notifier = notifier
        #: ``<cluster>@<backend>`` when this manager is a member of a cluster.
        self.cluster_name = cluster_name
        self.coordinator = coordinator

    def _volume_lock(self, volume_id):
        return coordination.volume_lock(self.coordinator, volume_id)

    def _host_lock(self, host):
        """The lock of an attaching host (fencing): the cluster's in a cluster, so that a
        fence served by one member and a grant by another do not interleave."""
        return coordination.host_lock(self.coordinator, host)

    def _connected(self, context, volume_id=None):
        """Live connected attachments of this backend's volumes (and of the cluster's for
        a member of one); given ``volume_id``, that volume's, whichever manager placed it
        (an export another one serves is never taken for a leftover)."""
        if volume_id is not None:
            return attachment_obj.VolumeAttachmentList.get_connected_by_backend(
                context, None, volume_id=volume_id)
        return attachment_obj.VolumeAttachmentList.get_connected_by_backend(
            context, self.server, cluster_name=self.cluster_name)

    @contextlib.contextmanager
    def _granting_to(self, connector):
        """FENCING HOOK: hold the lock of the connector's host around a grant of access to
        it (taken before the volume's lock, as :meth:`fence_host` takes them).

        Under this lock a grant either ends before a fence of the host reads the host's
        attachments (which then include it), or starts after the fence row exists and is
        refused by the caller's check (``Fence.check_not_fenced``, or the read of
        ``VolumeAttachmentList.get_all_by_volume_unless_fenced``) before the backend is
        touched.
        """
        host = connector.get('host')
        if not host:
            yield
            return
        with self._host_lock(host):
            yield

    def _notify(self, context, event_type, volume, attachment=None):
        notifications.notify(self.notifier, context, event_type, volume, attachment)

    # --- volumes --------------------------------------------------------------------------

    def _still(self, volume, status):
        """True when ``volume`` is still ``status`` in the database (it refreshes it).

        Called under the volume's lock before its work: the same request may come twice,
        from its RPC message and from :meth:`recover`, and only the first must act.
        """
        try:
            volume.refresh()
        except exception.VolumeNotFound:
            return False
        return volume.status == status

    @messaging.expose
    def create_volume(self, context, volume):
        """Create the backend storage; the volume goes ``available`` or ``error``."""
        with self._volume_lock(volume.id):
            if not self._still(volume, fields.VolumeStatus.CREATING):
                return
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
            if not volume.conditional_update(update,
                                             {'status': fields.VolumeStatus.CREATING}):
                LOG.warning('Volume %s left creating while it was created; not marked '
                            'available', volume.id)

    @messaging.expose
    def delete_volume(self, context, volume):
        """Delete the backend storage and the volume row (volume is ``deleting``)."""
        with self._volume_lock(volume.id):
            if not self._still(volume, fields.VolumeStatus.DELETING):
                return
            try:
                self.driver.remove_export(volume)
                self.driver.delete_volume(volume)
            except Exception:
                LOG.exception('Deleting volume %s failed', volume.id)
                volume.conditional_update({'status': fields.VolumeStatus.ERROR_DELETING},
                                          {'status': fields.VolumeStatus.DELETING})
                return
            volume.destroy()

    @messaging.expose
    def reimage_volume(self, context, volume):
        """Wipe the volume's data (os-reimage; attachd writes no image: it has no image
        service). The volume is ``downloading``; it goes back to its previous status
        (``reserved`` while a reservation still holds it), or ``error`` when the driver
        fails.
        """
        with self._volume_lock(volume.id):
            if not self._still(volume, fields.VolumeStatus.DOWNLOADING):
                return
            try:
                with driver_errors(volume.id, 'Wiping'):
                    model_update = self.driver.wipe_volume(volume)
                self._save_model_update(volume, model_update)
            except Exception:
                LOG.exception('Re-imaging volume %s failed', volume.id)
                volume.end_download(failed=True)
                return
            if volume.end_download() is None:
                LOG.warning('Volume %s left downloading while it was re-imaged',
                            volume.id)

    @staticmethod
    def _save_model_update(volume, model_update):
        if model_update:
            for key, value in model_update.items():
                setattr(volume, key, value)
            volume.save()

    # --- attachments ----------------------------------------------------------------------

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

    def _other_connectors(self, context, volume_id, attachment_id):
        """Connectors of the volume's other live attachments that hold a connection."""
        return [connector for other_id, connector
                in attachment_obj.VolumeAttachmentList.connectors_by_volume(context, volume_id)
                if other_id != attachment_id]

    def _validate_connector(self, connector):
        try:
            self.driver.validate_connector(connector)
        except exception.InvalidConnector:
            raise
        except Exception as exc:
            raise exception.InvalidConnector(reason=str(exc))

    @messaging.expose
    def attachment_update(self, context, volume, attachment, connector):
        """Export the volume to the host of ``connector`` and record the connection.

        On any failure the access granted here is revoked (and the export removed when no
        other attachment uses it); the attachment and the volume keep their previous state.

        :returns: the attachment as recorded.
        """
        with self._granting_to(connector), self._volume_lock(volume.id):
            connector = dict(connector)
            mode = attachment.mode_for_connection(volume, connector)
            connector['mode'] = mode
            self._validate_connector(connector)
            # Read under this volume's lock, so no connection made since the API read the
            # attachments is missed: it serves the conflict check before the backend is
            # touched and the list of connections that must survive an undo (the API's
            # read of them may be older than a connect this lock waited for). The same
            # statement checks that the host is not fenced (under the host's lock).
            siblings = attachment_obj.VolumeAttachmentList.get_all_by_volume_unless_fenced(
                context, volume.id, connector.get('host'))
            self._notify(context, notifications.VOLUME_ATTACH_START, volume, attachment)
            attachment.check_connectable(volume, siblings)
            others = [a.connector for a in siblings if a.id != attachment.id and a.connector]
            previous = attachment.connector
            try:
                with driver_errors(volume.id, 'Exporting'):
                    model_update = self.driver.create_export(volume, connector)
                self._save_model_update(volume, model_update)
                with driver_errors(volume.id, 'Connecting'):
                    conn_info = self.driver.initialize_connection(volume, connector,
                                                                  attachment.id)
                info = self._connection_options(volume, attachment, connector, mode,
                                                conn_info)
                attachment.connected(connector, info, attach_mode=mode)
            except Exception:
                with excutils.save_and_reraise_exception():
                    LOG.warning('Connecting attachment %s failed; undoing its export',
                                attachment.id)
                    keep = others + ([previous] if previous else [])
                    self._undo_connection(volume, connector, keep)
            if previous and not self.driver.shares_connection(previous, connector):
                # The attachment moved to another host: the old host loses its access
                # unless another attachment still uses it.
                self._revoke(volume, previous, others)
            self._notify(context, notifications.ATTACHMENT_UPDATE, volume, attachment)
            if attachment.obj_attr_is_set('volume'):
                del attachment.volume
            return attachment

    def _undo_connection(self, volume, connector, keep):
        """Revoke what a failed connect granted, keeping what ``keep`` still uses."""
        try:
            self.driver.terminate_connection(volume, connector, keep)
            if not keep:
                self.driver.remove_export(volume)
        except Exception:
            # The reconciler at the next start removes what is left.
            LOG.exception('Undoing a connection of volume %s failed', volume.id)

    def _revoke(self, volume, connector, others):
        try:
            self.driver.terminate_connection(volume, connector, others)
        except Exception:
            LOG.exception('Revoking the previous host of volume %s failed', volume.id)

    @messaging.expose
    def attachment_delete(self, context, volume, attachment):
        """Revoke the attachment's host connection; remove the export when it was the last.

        Statuses are the caller's business (it deletes the row after this returns).

        :returns: True when other attachments still share the host connection.
        """
        with self._volume_lock(volume.id):
            self._notify(context, notifications.VOLUME_DETACH_START, volume, attachment)
            if not attachment.connector:
                return False
            others = self._other_connectors(context, volume.id, attachment.id)
            with driver_errors(volume.id, 'Disconnecting'):
                shared = bool(self.driver.terminate_connection(volume, attachment.connector,
                                                               others))
            if not others:
                try:
                    self.driver.remove_export(volume)
                except Exception:
                    # The row goes anyway (Cinder bug 1935057); the reconciler on the next
                    # start removes exports no live attachment owns.
                    LOG.exception('Removing the export of volume %s failed', volume.id)
            if self.cluster_name:
                # Before the lock goes: the API deletes the row only after this returns,
                # and meanwhile another member's reconciliation, or its next operation on
                # the volume, would take the revoked connection for a live one.
                attachment.connection_revoked()
            return shared

    # --- the pre-3.27 API -----------------------------------------------------------------

    @messaging.expose
    def initialize_connection(self, context, volume, connector):
        """Legacy connection without an attachment id (os-initialize_connection for a
        host that is attached already: Nova's hard reboot): export and connect again;
        nothing is recorded."""
        with self._granting_to(connector), self._volume_lock(volume.id):
            fence_obj.Fence.check_not_fenced(context, connector.get('host'))
            self._validate_connector(connector)
            others = self._other_connectors(context, volume.id, None)
            try:
                with driver_errors(volume.id, 'Exporting'):
                    model_update = self.driver.create_export(volume, connector)
                self._save_model_update(volume, model_update)
                with driver_errors(volume.id, 'Connecting'):
                    conn_info = self.driver.initialize_connection(volume, connector, None)
            except Exception:
                with excutils.save_and_reraise_exception():
                    self._undo_connection(volume, connector, others)
            data = conn_info.setdefault('data', {})
            data.setdefault('access_mode', connector.get('mode') or fields.AttachMode.RW)
            data.setdefault('encrypted', bool(volume.encryption_key_id))
            data.setdefault('qos_specs', None)
            return conn_info

    # --- fencing ---------------------------------------------------------------------------

    @messaging.expose
    def fence_host(self, context, host):
        """Cut ``host`` off this backend (1.3): revoke the access of every attachment on
        it (the tgt driver also drops its sessions) and mark them ``fenced``.

        The fence row exists already (the API writes it first). Under the host's lock, no
        grant to the host is under way (:meth:`_granting_to`), and none starts: the
        attachments read here are all this backend will ever have on the host while the
        fence stands.

        :returns: the ids of the attachments fenced now.
        :raises DriverError: the backend failed to revoke one; those fenced before stay
            fenced, and a repeated fence takes up the rest.
        """
        fenced = []
        with self._host_lock(host):
            on_host = attachment_obj.VolumeAttachmentList.get_all_on_host(
                context, self.server, host, cluster_name=self.cluster_name)
            for volume_id in sorted({a.volume_id for a in on_host}):
                volume = volume_obj.Volume.get_by_id(context, volume_id, project_only=False)
                with self._volume_lock(volume_id):
                    fenced.extend(self._fence_volume(context, volume, host))
        if fenced:
            LOG.warning('Fenced host %s on backend %s: revoked attachments %s', host,
                        self.server, ', '.join(fenced))
        return fenced

    def _fence_volume(self, context, volume, host):
        """Revoke the access of ``host`` to ``volume`` and fence its attachments there
        (called under the volume's lock, with the volume's attachments read again)."""
        siblings = attachment_obj.VolumeAttachmentList.get_all_by_volume(context, volume.id)
        on_host = [a for a in siblings if a.attached_host == host
                   and a.attach_status != fields.VolumeAttachStatus.FENCED]
        # The connections that stay: not those of the fenced host, even when they share
        # its initiator.
        others = [a.connector for a in siblings if a.connector and a.attached_host != host]
        revoked = False
        for attachment in on_host:
            if attachment.connector:
                with driver_errors(volume.id, 'Fencing'):
                    self.driver.fence_connection(volume, attachment.connector, others)
                revoked = True
        if revoked and not others:
            try:
                self.driver.remove_export(volume)
            except Exception:
                # Access is revoked already; the reconciler removes the unowned export.
                LOG.exception('Removing the export of volume %s failed', volume.id)
        return [a.id for a in on_host if a.fence(host)]

    # --- maintenance (not exposed over RPC) -----------------------------------------------

    def reconcile_exports(self, context):
        """Make the backend's exports match the database, before serving requests.

        Every volume of this backend with live connected attachments gets its export and
        the access of its hosts back (``ensure_export``: the backend may have lost them,
        tgtd keeps nothing across a restart); every export that no such attachment owns
        (left by a manager that died during an update, or a failed removal) is removed.

        In a cluster, "this backend" is the cluster's: the members of one host share its
        exports (tgtd), and a volume placed by one member is served by all. Another member
        may be connecting a volume while this one reconciles, so an export is removed only
        if, read again under the volume's (cluster) lock, no connected attachment owns it:
        a member that exports a volume records the attachment before it releases that
        lock, so an export being made is never taken for a leftover.

        :returns: ``(ensured, removed)`` volume id lists.
        """
        connectors = collections.defaultdict(list)
        for attachment in self._connected(context):
            connectors[attachment.volume_id].append(attachment.connector)
        ensured = []
        for volume_id, volume_connectors in connectors.items():
            volume = volume_obj.Volume.get_by_id(context, volume_id, project_only=False)
            with self._volume_lock(volume_id):
                if self.cluster_name:
                    # Read again under the lock: another member may have disconnected a
                    # host since, and its access must not come back.
                    volume_connectors = [a.connector for a in self._connected(context,
                                                                              volume_id)]
                    if not volume_connectors:
                        continue
                try:
                    self.driver.ensure_export(volume, volume_connectors)
                    ensured.append(volume_id)
                except Exception:
                    LOG.exception('Re-creating the export of volume %s failed', volume_id)
        removed = []
        for volume_id in self.driver.list_exports():
            if volume_id in connectors:
                continue
            try:
                volume = volume_obj.Volume.get_by_id(context, volume_id, project_only=False)
            except exception.VolumeNotFound:
                volume = volume_obj.Volume(context, id=volume_id)
            with self._volume_lock(volume_id):
                if self.cluster_name and self._connected(context, volume_id):
                    continue
                try:
                    self.driver.remove_export(volume)
                    removed.append(volume_id)
                except Exception:
                    LOG.exception('Removing the unowned export of volume %s failed',
                                  volume_id)
        if ensured or removed:
            LOG.info('Backend %s: re-created the exports of %d volumes, removed %d '
                     'unowned exports', self.server, len(ensured), len(removed))
        return ensured, removed

    def recover(self, context, older_than=None):
        """Finish the work this backend's volumes were left waiting for, as Cinder's
        ``init_host`` does: ``creating`` volumes are created (``available``, or ``error``
        when the driver refuses, e.g. storage half made by a manager that died),
        ``deleting`` ones deleted, ``downloading`` ones re-imaged.

        Those requests were casts: the API answered 202 once the broker took the message,
        and a message is lost when the broker restarts before the manager consumed it
        (the queues are not durable) or when the manager dies while working on it. Each
        volume's own status is the durable record of the request, so the manager redoes
        it from there, at start and periodically (``older_than``: only volumes unchanged
        since then). Redoing is safe: each method checks the status under the volume's
        lock, so the request's own message, if it still arrives, finds nothing to do.

        :returns: the ids of the volumes acted on.
        """
        work = {fields.VolumeStatus.CREATING: self.create_volume,
                fields.VolumeStatus.DELETING: self.delete_volume,
                fields.VolumeStatus.DOWNLOADING: self.reimage_volume}
        # In a cluster, any member finishes the work of a member that died; its own
        # volumes placed before it joined keep their host.
        scopes = [{'host': self.server}]
        if self.cluster_name:
            scopes.append({'cluster_name': self.cluster_name})
        volumes = {volume.id: volume for scope in scopes
                   for volume in volume_obj.VolumeList.get_all(
                       context, filters=dict(scope, status=list(work)),
                       project_only=False, with_details=False)}.values()
        recovered = []
        for volume in volumes:
            changed = volume.updated_at or volume.created_at
            if older_than is not None and changed and changed.replace(
                    tzinfo=None) > older_than:
                continue
            LOG.warning('Volume %s of backend %s was left %s; finishing it', volume.id,
                        self.server, volume.status)
            try:
                work[volume.status](context, volume)
            except Exception:
                # The next periodic run tries again (database back).
                LOG.exception('Finishing volume %s failed', volume.id)
                continue
            recovered.append(volume.id)
        return recovered

    def reclaim_reservations(self, context):
        """Delete this backend's reservations abandoned for longer than
        ``[attachments] reservation_timeout`` (never connected nor completed), as an API
        delete of a reservation would: the volume status is recomputed with it and the
        detach notifications are sent.

        :returns: the ids of the reclaimed attachments.
        """
        timeout = CONF.attachments.reservation_timeout
        if not timeout:
            return []
        # In whole seconds, rounded down: MySQL keeps whole seconds (MariaDB truncates,
        # MySQL rounds), so a reservation made 1.5 s ago could look older than 2 s; a
        # stored time before the whole second is older than the timeout, whatever the
        # column's precision. A reservation is never reclaimed early, at most 1 s late.
        older_than = (timeutils.utcnow() - datetime.timedelta(seconds=timeout)).replace(
            tzinfo=None, microsecond=0)
        reclaimed = []
        for attachment in attachment_obj.VolumeAttachmentList.get_reclaimable(
                context, older_than, host=self.server, cluster_name=self.cluster_name):
            volume = volume_obj.Volume.get_by_id(context, attachment.volume_id,
                                                 project_only=False)
            if not attachment.reclaim(older_than):
                # Updated, completed or deleted since the query: no longer abandoned.
                continue
            reclaimed.append(attachment.id)
            LOG.info('Reclaimed attachment %s of volume %s, reserved and untouched for '
                     'more than %d seconds', attachment.id, volume.id, timeout)
            self._notify(context, notifications.VOLUME_DETACH_START, volume, attachment)
            volume.refresh()
            self._notify(context, notifications.ATTACHMENT_DELETE, volume, attachment)
            self._notify(context, notifications.VOLUME_DETACH_END, volume, attachment)
        return reclaimed
