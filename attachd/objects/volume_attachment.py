"""The VolumeAttachment object: a volume reserved for, or connected to, a host."""

from oslo_serialization import jsonutils

from attachd import exception
from attachd.db import api as db_api
from attachd.db import fences as fences_db
from attachd.db import models
from attachd.drivers import base as drivers_base
from attachd.i18n import _
from attachd.objects import base
from attachd.objects import fields
from attachd.objects import volume as volume_obj


def _loads(value):
    return jsonutils.loads(value) if value else None


def check_connectable(volume, attachment, live):
    """Raise AttachmentConflict when ``attachment`` may not be connected: its volume is in
    error, or is not multiattach and another instance holds a connection to it; raise
    AttachmentFenced when the attachment was fenced.

    Works on objects and on the database rows alike (``status``, ``multiattach``;
    ``id``, ``connector``, ``instance_uuid``).

    :param live: the volume's live attachments.
    """
    if 'error' in volume.status:
        raise exception.AttachmentConflict(reason=_(
            'Volume %(id)s is in an error state (%(status)s); its attachments cannot be '
            'connected.') % {'id': volume.id, 'status': volume.status})
    if attachment.attach_status == fields.VolumeAttachStatus.FENCED:
        # FENCING HOOK: a fenced attachment is only ever deleted.
        raise exception.AttachmentFenced(attachment_id=attachment.id,
                                         host=attachment.attached_host)
    if volume.multiattach:
        return
    for other in live:
        if (other.id != attachment.id and other.connector is not None and
                other.instance_uuid != attachment.instance_uuid):
            raise exception.AttachmentConflict(reason=_(
                'Volume %(id)s is not multiattach and is already connected to another '
                'instance.') % {'id': volume.id})


@base.AttachdObjectRegistry.register
class VolumeAttachment(base.AttachdPersistentObject, base.AttachdObject):
    # Version 1.0: Initial version
    # Version 1.1: attach_status may be 'fenced' (only once every manager runs RPC 1.3:
    #              fencing is refused before that, so no 1.0 peer ever sees one)
    VERSION = '1.1'

    fields = {
        'id': fields.UUIDField(),
        'volume_id': fields.UUIDField(),
        'instance_uuid': fields.UUIDField(nullable=True),
        'attached_host': fields.StringField(nullable=True),
        'mountpoint': fields.StringField(nullable=True),
        'attach_time': fields.DateTimeField(nullable=True),
        'detach_time': fields.DateTimeField(nullable=True),
        'attach_status': fields.VolumeAttachStatusField(nullable=True),
        'attach_mode': fields.StringField(nullable=True),
        'connection_info': fields.DictOfAnyField(nullable=True),
        'connector': fields.DictOfAnyField(nullable=True),
        'volume': fields.ObjectField('Volume'),
    }

    # connection_info holds the host's credentials (CHAP passwords): never in reprs.
    obj_secret_fields = ('connection_info',)

    @classmethod
    def _from_db_object(cls, context, obj, db_obj, skip=()):
        super()._from_db_object(context, obj, db_obj,
                                skip=('connection_info', 'connector', 'volume'))
        obj.connection_info = _loads(db_obj.connection_info)
        obj.connector = db_api.connector_from_specs(db_obj.connector)
        obj.obj_reset_changes()
        return obj

    def obj_load_attr(self, attrname):
        if attrname != 'volume':
            raise NotImplementedError(attrname)
        self.volume = volume_obj.Volume.get_by_id(self._context, self.volume_id,
                                              project_only=False)
        self.obj_reset_changes(['volume'])

    @classmethod
    def get_by_id(cls, context, attachment_id, project_only=True):
        """The live attachment; VolumeAttachmentNotFound for another project's one (see
        :meth:`get_with_volume` to load its volume too)."""
        return cls._from_db_object(context, cls(context),
                                   db_api.attachment_get(context, attachment_id, project_only))

    @classmethod
    def get_with_siblings(cls, context, attachment_id, project_only=True,
                          admin_metadata=True):
        """The live attachment with its ``volume`` loaded, and all the volume's live
        attachments (this one included), read in one statement.

        :param admin_metadata: load the volume's admin metadata too (in the same
            statement); otherwise it is loaded when first used.
        :returns: ``(attachment, VolumeAttachmentList)``.
        """
        _row, volume_row, metadata, rows = db_api.attachment_get_with_volume(
            context, attachment_id, project_only, admin_metadata)
        siblings = base.obj_make_list(context, VolumeAttachmentList(context),
                                      VolumeAttachment, rows)
        attachment = next(a for a in siblings if a.id == attachment_id)
        volume = cls._volume(context, volume_row)
        if metadata is not None:
            volume.admin_metadata = metadata
            volume.obj_reset_changes(['admin_metadata'])
        return cls._with_loaded_volume(attachment, volume), siblings

    @classmethod
    def get_with_volume(cls, context, attachment_id, project_only=True):
        """The live attachment with its ``volume`` loaded (one statement)."""
        row, volume_row = db_api.attachment_get_one_with_volume(context, attachment_id,
                                                                project_only)
        return cls._with_loaded_volume(cls._from_db_object(context, cls(context), row),
                                       cls._volume(context, volume_row))

    @staticmethod
    def _volume(context, volume_row):
        return volume_obj.Volume._from_db_object(context, volume_obj.Volume(context),
                                                 volume_row)

    @staticmethod
    def _with_loaded_volume(attachment, volume):
        attachment.volume = volume
        attachment.obj_reset_changes(['volume'])
        return attachment

    @classmethod
    def reserve(cls, context, volume_id, instance_uuid=None, attach_mode=None,
                multiattach=None):
        """Reserve ``volume_id`` (compare-and-swap) and return the new attachment.

        :param multiattach: the volume's flag, when the caller has read the volume already.
        """
        row = db_api.attachment_reserve(context, volume_id, instance_uuid, attach_mode,
                                        multiattach)
        return cls._from_db_object(context, cls(context), row)

    def check_connectable(self, volume, siblings):
        """Raise AttachmentConflict if this attachment may not be connected now.

        Costs no query: it looks at the ``volume`` and its live attachments (``siblings``)
        the caller read. The authoritative check runs again under the volume's lock when
        the connection is recorded.
        """
        if not any(a.id == self.id for a in siblings):
            raise exception.VolumeAttachmentNotFound(attachment_id=self.id)
        check_connectable(volume, self, siblings)

    def connected(self, connector, connection_info, **values):
        """Record the connection the backend made; the volume goes to ``attaching``."""
        row = db_api.attachment_connected(self._context, self.id, connector,
                                          connection_info, values, self.volume_id,
                                          check=check_connectable)
        self._from_db_object(self._context, self, row)

    def connection_revoked(self):
        """Forget the connector of the connection the backend just revoked (a manager of a
        cluster, under the volume's lock); the status stays until the API's delete."""
        db_api.attachment_connection_revoked(self._context, self.id)

    def disconnected(self):
        """Forget the connection; the attachment is a plain reservation again, unless it
        is attached (a server keeps its volume across a legacy terminate_connection)."""
        db_api.attachment_disconnected(self._context, self.id)
        self.connector = None
        self.connection_info = None
        if self.attach_status != fields.VolumeAttachStatus.ATTACHED:
            self.attach_status = fields.VolumeAttachStatus.RESERVED
        self.obj_reset_changes()

    def take_over(self, other):
        """Take ``other``'s host connection and delete ``other`` (legacy live migration:
        the server's attachment moves to the destination's connection)."""
        row = db_api.attachment_take_over(self._context, self.id, other.id)
        self._from_db_object(self._context, self, row)

    @classmethod
    def mark_attached(cls, context, volume, instance_uuid=None, host=None, mountpoint=None):
        """Legacy os-attach: complete the volume's pending attachment for the server (the
        connected one first), recording the server, host and mount point given; reserve
        one first when none is pending. Each step is one compare-and-swap transaction.

        :raises InvalidVolume: the volume cannot be reserved (Cinder's wording).
        """
        attachment_id = db_api.attachment_mark_attached(context, volume.id, instance_uuid,
                                                        host, mountpoint)
        if attachment_id is None:
            reserved = cls.reserve(context, volume.id, instance_uuid, volume.attach_mode(),
                                   volume.multiattach)
            attachment_id = db_api.attachment_mark_attached(
                context, volume.id, instance_uuid, host, mountpoint, reserved.id)
            if attachment_id is None:
                # Another os-attach completed the reservation first.
                raise exception.VolumeAttachmentNotFound(attachment_id=reserved.id)
        return attachment_id

    @staticmethod
    def unreserve(context, volume_id):
        """Legacy os-unreserve: delete the volume's reservations never connected nor given
        a server (one compare-and-swap)."""
        return db_api.attachment_unreserve(context, volume_id)

    def mode_for_connection(self, volume, connector):
        """The mode this attachment is connected with: its own, decided when it was
        reserved, else the volume's (:meth:`Volume.attach_mode`) with the connector's
        legacy ``mode`` as the request, else rw."""
        if self.attach_mode in fields.AttachMode.ALL:
            return self.attach_mode
        return volume.attach_mode(connector.get('mode'), fields.AttachMode.RW)

    def complete(self):
        """The host confirmed the attachment: ``attached``, the volume ``in-use``."""
        db_api.attachment_complete(self._context, self.id, self.volume_id)
        self.attach_status = fields.VolumeAttachStatus.ATTACHED
        self.obj_reset_changes(['attach_status'])

    def destroy(self, only_if_unchanged=False):
        """Delete the attachment and recompute the volume status.

        :param only_if_unchanged: delete only while the stored connector is still this
            object's (AttachmentChanged otherwise), for callers that revoked that one.
        :returns: a VolumeAttachmentList of the volume's remaining attachments.
        """
        expected = self.connector if only_if_unchanged else db_api.ANY_CONNECTOR
        rows = db_api.attachment_destroy(self._context, self.id, expected, self.volume_id)
        return base.obj_make_list(self._context, VolumeAttachmentList(self._context),
                                  VolumeAttachment, rows)

    def fence(self, host):
        """Mark this attachment on fenced ``host`` ``fenced`` and forget its connection
        (the backend revoked it); its volume's status is recomputed without it.

        :returns: False when it is no longer a live, unfenced attachment on ``host``.
        """
        if not fences_db.attachment_fence(self._context, self.id, host):
            return False
        self.attach_status = fields.VolumeAttachStatus.FENCED
        self.connector = None
        self.connection_info = None
        self.obj_reset_changes()
        return True

    def reclaim(self, older_than):
        """Delete this reservation if it is still abandoned (unconnected, uncompleted,
        unchanged since ``older_than``); the volume status is recomputed with it.

        :returns: True when it was deleted.
        """
        return db_api.attachment_reclaim(self._context, self.id, older_than)

    @property
    def specs(self):
        """The connector as stored key by key in ``attachment_specs``."""
        return db_api.attachment_specs_get(self._context, self.id)

    @property
    def connection_key(self):
        """What identifies this attachment's host connection: the initiator, else host."""
        return drivers_base.connection_key(self.connector)

    def shared_connections(self, siblings=None):
        """Ids of the volume's other live attachments that use the same host connection.

        :param siblings: the volume's live attachments, if the caller has them already.
        """
        key = self.connection_key
        if key is None:
            return []
        if siblings is None:
            siblings = VolumeAttachmentList.get_all_by_volume(self._context, self.volume_id)
        return [a.id for a in siblings if a.id != self.id and a.connection_key == key]


@base.AttachdObjectRegistry.register
class VolumeAttachmentList(base.ObjectListBase, base.AttachdObject):
    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = {
        'objects': fields.ListOfObjectsField('VolumeAttachment'),
    }

    #: What a list may be sorted by (columns of volume_attachment).
    SORT_KEYS = db_api.ATTACHMENT_SORT_KEYS

    @staticmethod
    def text_keys(names):
        """Those of the filter and sort ``names`` that hold text: the keys a ``key~``
        (substring) filter may use."""
        return db_api.text_columns(models.VolumeAttachment, names,
                                   db_api.ATTACHMENT_FILTER_ALIASES)

    @classmethod
    def get_all(cls, context, filters=None, marker=None, limit=None, offset=None,
                sort_keys=None, sort_dirs=None, project_only=True, project_id=None):
        rows = db_api.attachment_get_all(context, filters, marker, limit, offset, sort_keys,
                                         sort_dirs, project_only, project_id)
        return base.obj_make_list(context, cls(context), VolumeAttachment, rows)

    @classmethod
    def get_all_by_volume(cls, context, volume_id):
        return base.obj_make_list(context, cls(context), VolumeAttachment,
                                  db_api.attachment_get_all_by_volume(context, volume_id))

    @staticmethod
    def connectors_by_volume(context, volume_id):
        """``[(attachment id, connector)]`` of the volume's live connected attachments,
        oldest first."""
        return db_api.attachment_connectors_by_volume(context, volume_id)

    @classmethod
    def get_all_by_volume_unless_fenced(cls, context, volume_id, host):
        """The volume's live attachments, read with the check that ``host`` is not fenced
        (one statement); a connector without a host is never fenced.

        :raises HostFenced: ``host`` is fenced.
        """
        if not host:
            return cls.get_all_by_volume(context, volume_id)
        rows, fenced_at = fences_db.attachments_of_volume_and_fence(context, volume_id,
                                                                   host)
        if fenced_at is not None:
            raise exception.HostFenced(host=host, created_at=fenced_at)
        return base.obj_make_list(context, cls(context), VolumeAttachment, rows)

    @classmethod
    def get_reclaimable(cls, context, older_than, host=None, cluster_name=None):
        return base.obj_make_list(context, cls(context), VolumeAttachment,
                                  db_api.attachment_get_reclaimable(context, older_than,
                                                                    host, cluster_name))

    @classmethod
    def get_all_on_host(cls, context, backend, host, cluster_name=None):
        """The live attachments on ``host`` (their ``attached_host``) not fenced yet, of
        the volumes of ``backend`` (and of the cluster ``cluster_name``'s)."""
        return base.obj_make_list(
            context, cls(context), VolumeAttachment,
            fences_db.attachment_get_all_on_host(context, backend, host, cluster_name))

    @classmethod
    def get_connected_by_backend(cls, context, host, cluster_name=None, volume_id=None):
        return base.obj_make_list(
            context, cls(context), VolumeAttachment,
            db_api.attachment_get_connected_by_backend(context, host, cluster_name,
                                                       volume_id))
