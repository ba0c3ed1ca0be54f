"""The VolumeType object: a named class of volumes with extra specs."""

from oslo_log import log as logging
from oslo_utils import strutils
from oslo_utils import uuidutils

from attachd import exception
from attachd.conf import CONF
from attachd.db import api as db_api
from attachd.objects import base
from attachd.objects import fields

LOG = logging.getLogger(__name__)

def _is_true_spec(value):
    """Cinder's ``'<is> True'`` boolean extra-spec syntax."""
    if value is None:
        return False
    value = value.strip()
    if value.lower().startswith('<is>'):
        value = value[4:].strip()
    return strutils.bool_from_string(value)


@base.AttachdObjectRegistry.register
class VolumeType(base.AttachdPersistentObject, base.AttachdObject):
    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = {
        'id': fields.UUIDField(),
        'name': fields.StringField(),
        'description': fields.StringField(nullable=True),
        'is_public': fields.BooleanField(default=True),
        'extra_specs': fields.DictOfNullableStringsField(default={}),
    }

    @classmethod
    def _from_db_object(cls, context, obj, db_obj, skip=()):
        super()._from_db_object(context, obj, db_obj, skip=('extra_specs',))
        obj.extra_specs = {spec.key: spec.value for spec in db_obj.extra_specs}
        obj.obj_reset_changes()
        return obj

    @classmethod
    def get_by_id(cls, context, type_id):
        return cls._from_db_object(context, cls(context),
                                   db_api.volume_type_get(context, type_id))

    @classmethod
    def get_by_name_or_id(cls, context, identity):
        """Look a type up by id, then by name (as ``--volume-type`` accepts either)."""
        if uuidutils.is_uuid_like(identity):
            try:
                return cls.get_by_id(context, identity)
            except exception.VolumeTypeNotFound:
                pass
        return cls._from_db_object(context, cls(context),
                                   db_api.volume_type_get_by_name(context, identity))

    @classmethod
    def get_default(cls, context):
        """``[DEFAULT] default_volume_type``: what a volume created without a type gets.

        :raises VolumeTypeDefaultMisconfigured: no such type (Cinder's 500).
        """
        try:
            return cls._from_db_object(context, cls(context), db_api.volume_type_get_by_name(
                context, CONF.default_volume_type))
        except exception.VolumeTypeNotFound:
            LOG.error('The default volume type %s does not exist; check '
                      '[DEFAULT] default_volume_type', CONF.default_volume_type)
            raise exception.VolumeTypeDefaultMisconfigured(
                volume_type_name=CONF.default_volume_type)

    @property
    def is_default(self):
        return self.name == CONF.default_volume_type

    def create(self):
        values = self.obj_get_changes()
        specs = values.pop('extra_specs', {})
        db_type = db_api.volume_type_create(self._context, values, specs)
        self._from_db_object(self._context, self, db_type)

    def destroy(self):
        db_api.volume_type_destroy(self._context, self.id)

    def update_extra_specs(self, specs):
        self.extra_specs = db_api.volume_type_extra_specs_update(self._context, self.id,
                                                                 specs)
        self.obj_reset_changes(['extra_specs'])

    def delete_extra_spec(self, key):
        db_api.volume_type_extra_specs_delete(self._context, self.id, key)
        self.extra_specs.pop(key, None)
        self.obj_reset_changes(['extra_specs'])

    @property
    def is_multiattach(self):
        return _is_true_spec(self.extra_specs.get('multiattach'))

    @property
    def backend_name(self):
        return self.extra_specs.get('volume_backend_name')


@base.AttachdObjectRegistry.register
class VolumeTypeList(base.ObjectListBase, base.AttachdObject):
    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = {
        'objects': fields.ListOfObjectsField('VolumeType'),
    }

    @classmethod
    def get_all(cls, context):
        return base.obj_make_list(context, cls(context), VolumeType,
                                  db_api.volume_type_get_all(context))
