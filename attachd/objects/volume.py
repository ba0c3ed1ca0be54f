"""The Volume object."""

import datetime

from oslo_utils import versionutils

from attachd import exception
from attachd.db import api as db_api
from attachd.db import models
from attachd.objects import base
from attachd.objects import fields
from attachd.objects import volume_type as type_obj

_LAZY = ('metadata', 'admin_metadata', 'volume_type', 'volume_attachment')


def _naive(values):
    for key, value in list(values.items()):
        if isinstance(value, datetime.datetime):
            values[key] = value.replace(tzinfo=None)
    return values


@base.AttachdObjectRegistry.register
class Volume(base.AttachdPersistentObject, base.AttachdObject):
    # Version 1.0: Initial version
    # Version 1.1: the attach status vocabulary gained 'fenced' (an attachment's only: a
    #              volume's attach_status never takes it)
    # Version 1.2: cluster_name
    VERSION = '1.2'

    fields = {
        'id': fields.UUIDField(),
        'project_id': fields.StringField(nullable=True),
        'user_id': fields.StringField(nullable=True),
        'name': fields.StringField(nullable=True),
        'description': fields.StringField(nullable=True),
        'size': fields.IntegerField(),
        'availability_zone': fields.StringField(nullable=True),
        'status': fields.VolumeStatusField(),
        'attach_status': fields.VolumeAttachStatusField(),
        'migration_status': fields.StringField(nullable=True),
        'previous_status': fields.StringField(nullable=True),
        'multiattach': fields.BooleanField(default=False),
        'bootable': fields.BooleanField(default=False),
        'volume_type_id': fields.UUIDField(nullable=True),
        'host': fields.StringField(nullable=True),
        'cluster_name': fields.StringField(nullable=True),
        'provider_location': fields.StringField(nullable=True),
        'provider_auth': fields.StringField(nullable=True),
        'shared_targets': fields.BooleanField(nullable=True, default=True),
        'service_uuid': fields.StringField(nullable=True),
        'encryption_key_id': fields.UUIDField(nullable=True),
        'launched_at': fields.DateTimeField(nullable=True),
        'terminated_at': fields.DateTimeField(nullable=True),
        'metadata': fields.DictOfNullableStringsField(default={}),
        'admin_metadata': fields.DictOfNullableStringsField(default={}),
        'volume_type': fields.ObjectField('VolumeType', nullable=True),
        'volume_attachment': fields.ObjectField('VolumeAttachmentList'),
    }

    # provider_auth holds backend credentials (CHAP secrets): never in logs or reprs.
    obj_secret_fields = ('provider_auth',)
    obj_extra_fields = ['backend', 'service_topic_queue']

    def obj_what_changed(self):
        return super().obj_what_changed() - set(_LAZY)

    def obj_make_compatible(self, primitive, target_version):
        super().obj_make_compatible(primitive, target_version)
        if versionutils.convert_version_to_tuple(target_version) < (1, 2):
            primitive.pop('cluster_name', None)

    @property
    def service_topic_queue(self):
        """The RPC server a request for this volume goes to: its cluster's
        (``<cluster>@<backend>``, which every live member consumes) or, for a volume of an
        unclustered manager, its host's (``<host>@<backend>``). A volume built without
        the field (a 1.0 object of an older sender) is its host's."""
        if self.obj_attr_is_set('cluster_name') and self.cluster_name:
            return self.cluster_name
        return self.host

    @property
    def backend(self):
        """The backend of ``host`` (``<host>@<backend>``)."""
        if not self.host or '@' not in self.host:
            return None
        return self.host.split('@', 1)[1]

    @classmethod
    def _from_db_object(cls, context, obj, db_obj, skip=()):
        super()._from_db_object(context, obj, db_obj, skip=_LAZY)
        return obj

    def obj_load_attr(self, attrname):
        if attrname not in _LAZY:
            raise exception.AttachdException('Cannot load %s of a volume' % attrname)
        if attrname == 'metadata':
            self.metadata = db_api.volume_metadata_get(self._context, self.id)
        elif attrname == 'admin_metadata':
            self.admin_metadata = db_api.volume_admin_metadata_get(self._context, self.id)
        elif attrname == 'volume_type':
            self.volume_type = (type_obj.VolumeType.get_by_id(self._context,
                                                              self.volume_type_id)
                                if self.volume_type_id else None)
        elif attrname == 'volume_attachment':
            self.volume_attachment = base.obj_class(
                'VolumeAttachmentList').get_all_by_volume(self._context, self.id)
        self.obj_reset_changes([attrname])

    @classmethod
    def get_by_id(cls, context, volume_id, project_only=True, with_admin_metadata=False):
        """The volume; raises VolumeNotFound for another project's volume unless admin.

        :param with_admin_metadata: also load its admin metadata, in the same transaction.
        """
        if not with_admin_metadata:
            return cls._from_db_object(context, cls(context),
                                       db_api.volume_get(context, volume_id, project_only))
        row, admin_metadata = db_api.volume_get_with_admin_metadata(context, volume_id,
                                                                    project_only)
        volume = cls._from_db_object(context, cls(context), row)
        volume.admin_metadata = admin_metadata
        volume.obj_reset_changes(['admin_metadata'])
        return volume

    def create(self, metadata=None, admin_metadata=None):
        values = _naive(self.obj_get_changes())
        for name in _LAZY:
            values.pop(name, None)
        db_volume = db_api.volume_create(self._context, values, metadata, admin_metadata)
        self._from_db_object(self._context, self, db_volume)
        if metadata is not None:
            self.metadata = dict(metadata)
        if admin_metadata is not None:
            self.admin_metadata = dict(admin_metadata)
        self.obj_reset_changes()

    def save(self):
        values = _naive(self.obj_get_changes())
        for name in _LAZY:
            values.pop(name, None)
        if values:
            db_api.volume_update(self._context, self.id, values)
        self.obj_reset_changes()

    def refresh(self):
        fresh = db_api.volume_get(self._context, self.id, project_only=False)
        self._from_db_object(self._context, self, fresh)
        for name in _LAZY:
            if self.obj_attr_is_set(name):
                delattr(self, '_obj_' + name)

    def conditional_update(self, values, expected_values, extra_where=()):
        """Compare-and-swap on this volume's row; on success the object takes ``values``.

        :returns: True when the row still matched ``expected_values`` and was changed.
        """
        won = db_api.conditional_update(self._context, models.Volume, self.id,
                                        _naive(dict(values)), expected_values, extra_where)
        if won:
            for key, value in values.items():
                setattr(self, key, value)
            self.obj_reset_changes(list(values))
        return won

    def begin_delete(self):
        """Move the volume to ``deleting`` if nothing holds it.

        :raises InvalidVolume: attached, reserved or in a status that forbids deleting.
        """
        status = db_api.volume_begin_delete(self._context, self.id)
        if status is None:
            self.status = fields.VolumeStatus.DELETING
            self.obj_reset_changes(['status'])
            return
        raise exception.InvalidVolume(reason=(
            'Volume status must be available or error or error_restoring or '
            'error_extending or error_managing and must not be migrating, attached, belong '
            'to a group, have snapshots, awaiting a transfer, or be disassociated from '
            'snapshots after volume transfer; the current status is %s and it has '
            'attachments: %s.' % (status, bool(self.volume_attachment))))

    def begin_reimage(self, reimage_reserved=False):
        """Move the volume to ``downloading`` for a re-image (os-reimage).

        :raises InvalidVolume: not available or error (or reserved, with
            ``reimage_reserved``).
        :raises AttachmentConflict: more than one attachment holds it.
        """
        statuses = (fields.VolumeStatus.AVAILABLE, fields.VolumeStatus.ERROR)
        if reimage_reserved:
            statuses += (fields.VolumeStatus.RESERVED,)
        failed = db_api.volume_begin_reimage(self._context, self.id, statuses)
        if failed is None:
            self.previous_status, self.status = self.status, fields.VolumeStatus.DOWNLOADING
            self.obj_reset_changes(['status', 'previous_status'])
            return
        status, attachments = failed
        if attachments > 1:
            raise exception.AttachmentConflict(reason=(
                'Cannot re-image a volume which is attached to more than one server.'))
        raise exception.InvalidVolume(reason=(
            'Volume %(id)s status must be %(allowed)s, but the current status is '
            '%(status)s.' % {'id': self.id, 'allowed': ' or '.join(statuses),
                             'status': status}))

    def end_download(self, failed=False):
        """End a ``downloading`` period; see ``db_api.volume_end_download``."""
        status = db_api.volume_end_download(self._context, self.id, failed)
        if status is not None:
            self.status = status
            self.previous_status = None
            self.obj_reset_changes(['status', 'previous_status'])
        return status

    def destroy(self):
        db_api.volume_destroy(self._context, self.id)

    def update_metadata(self, metadata, delete=False):
        """Set user metadata keys (``delete``: replace it all); returns the result."""
        self.metadata = db_api.volume_metadata_update(self._context, self.id, metadata,
                                                      delete)
        self.obj_reset_changes(['metadata'])
        return self.metadata

    def delete_metadata_key(self, key):
        """Delete one user metadata key (VolumeMetadataNotFound if it is not set)."""
        db_api.volume_metadata_delete(self._context, self.id, key)
        if self.obj_attr_is_set('metadata'):
            self.metadata.pop(key, None)
            self.obj_reset_changes(['metadata'])

    def update_admin_metadata(self, metadata):
        db_api.volume_admin_metadata_update(self._context, self.id, metadata)
        if self.obj_attr_is_set('admin_metadata'):
            self.admin_metadata.update(metadata)
            self.obj_reset_changes(['admin_metadata'])

    def attach_mode(self, requested=None, default=None):
        """The access mode of a new attachment or connection of this volume: the one place
        the read-only decision is made. The deprecated ``readonly`` admin flag forces
        ``ro`` (only when it is really set: Cinder also treats a stored 'False' as set);
        else ``requested`` when it is rw or ro; else ``default``."""
        if (self.admin_metadata.get('readonly') or '').lower() == 'true':
            return fields.AttachMode.RO
        if requested in fields.AttachMode.ALL:
            return requested
        return default

    @property
    def is_multiattach(self):
        return bool(self.multiattach)


@base.AttachdObjectRegistry.register
class VolumeList(base.ObjectListBase, base.AttachdObject):
    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = {
        'objects': fields.ListOfObjectsField('Volume'),
    }

    #: What a list may be sorted by (columns of volumes).
    SORT_KEYS = db_api.VOLUME_SORT_KEYS

    @staticmethod
    def text_keys(names):
        """Those of the filter and sort ``names`` that hold text: the keys a ``key~``
        (substring) filter may use."""
        return db_api.text_columns(models.Volume, names)

    @staticmethod
    def get_usage(context, project_id):
        """``(volumes, gigabytes)``: how many live volumes the project has and their
        size."""
        return db_api.volume_usage(context, project_id)

    @classmethod
    def get_all(cls, context, filters=None, marker=None, limit=None, offset=None,
                sort_keys=None, sort_dirs=None, project_only=True, with_details=True):
        """Volumes of the caller's project (all for admins with ``project_only=False``).

        With ``with_details`` the metadata, admin metadata and attachments of the whole page
        are loaded in three queries instead of three per volume.
        """
        rows = db_api.volume_get_all(context, filters, marker, limit, offset, sort_keys,
                                     sort_dirs, project_only)
        result = base.obj_make_list(context, cls(context), Volume, rows)
        if with_details and result.objects:
            ids = [v.id for v in result.objects]
            metadata = db_api.volume_metadata_get_many(context, ids)
            admin_metadata = db_api.volume_admin_metadata_get_many(context, ids)
            attachments = db_api.attachment_get_all_by_volumes(context, ids)
            for volume in result.objects:
                volume.metadata = metadata[volume.id]
                volume.admin_metadata = admin_metadata[volume.id]
                volume.volume_attachment = base.obj_make_list(
                    context, base.obj_class('VolumeAttachmentList')(context),
                    base.obj_class('VolumeAttachment'), attachments[volume.id])
                volume.obj_reset_changes()
        return result
