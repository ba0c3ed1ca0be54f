"""Base classes, registry and serializer of attachd's versioned objects."""

from oslo_utils import strutils
from oslo_versionedobjects import base
from oslo_versionedobjects import fields

from attachd.objects import fields as a_fields

# Objects travel between API and managers as primitives of this namespace.
OBJ_NAMESPACE = 'attachd'


# connection_info keys that are credentials and that oslo.utils' list (passwords, secrets,
# tokens: CHAP's auth_password and discovery_auth_password, RBD's secret_uuid) misses:
# RBD's keyring holds the Ceph key itself.
_SECRET_KEYS = ('keyring',)


def mask_secrets(info):
    """A copy of ``info`` (connection_info) with the values of credential keys replaced
    by ``***`` (oslo.utils' keys at any depth, ``keyring`` at the top level, where
    os-brick reads it)."""
    masked = strutils.mask_dict_password(info)
    for key in _SECRET_KEYS:
        if masked.get(key) is not None:
            masked[key] = '***'
    return masked


class AttachdObjectRegistry(base.VersionedObjectRegistry):
    """The registry of attachd's objects."""


class AttachdObject(base.VersionedObject):
    """Base of attachd's objects."""

    OBJ_PROJECT_NAMESPACE = OBJ_NAMESPACE
    OBJ_SERIAL_NAMESPACE = 'attachd_object'

    #: Fields that hold credentials, masked in ``repr()`` and so in every log line that
    #: shows the object: a string is hidden whole (``CHAP <user> <secret>``), a dict has
    #: its credential keys masked (see :func:`mask_secrets`). Declared here rather than as
    #: field types of their own, which would change the objects' fingerprints while the
    #: data they carry stays the same.
    obj_secret_fields = ()

    def __repr__(self):
        shown = []
        for name, field in sorted(self.fields.items()):
            if not self.obj_attr_is_set(name):
                shown.append('%s=<?>' % name)
                continue
            value = getattr(self, name)
            if name in self.obj_secret_fields and value is not None:
                value = mask_secrets(value) if isinstance(value, dict) else '***'
            shown.append('%s=%s' % (name, field.stringify(value)))
        return '%s(%s)' % (self.obj_name(), ','.join(shown))

    @classmethod
    def _from_db_object(cls, context, obj, db_obj, skip=()):
        """Fill ``obj`` from a model row, field by field."""
        for name, field in obj.fields.items():
            if name in skip or isinstance(field, fields.ObjectField):
                continue
            if not hasattr(db_obj, name):
                continue
            setattr(obj, name, getattr(db_obj, name))
        obj._context = context
        obj.obj_reset_changes()
        return obj


class AttachdPersistentObject:
    """Mixin with the timestamp and soft-delete fields every table has."""

    fields = {
        'created_at': a_fields.DateTimeField(nullable=True),
        'updated_at': a_fields.DateTimeField(nullable=True),
        'deleted_at': a_fields.DateTimeField(nullable=True),
        'deleted': a_fields.BooleanField(default=False),
    }


class ObjectListBase(base.ObjectListBase):
    """Base of attachd's object lists."""


# Fill a list object with item objects made from model rows, each through the item
# class's _from_db_object: oslo.versionedobjects' own helper.
obj_make_list = base.obj_make_list


def obj_class(name):
    """The registered object class called ``name``: how an object module reaches a class
    whose module imports it (``Volume`` loads its ``VolumeAttachmentList``, whose module
    imports ``volume``), as ``ObjectField('VolumeAttachmentList')`` does, without an import
    circle."""
    return AttachdObjectRegistry.obj_classes()[name][0]


class AttachdObjectSerializer(base.VersionedObjectSerializer):
    """Serializes attachd's objects for oslo.messaging."""

    OBJ_BASE_CLASS = AttachdObject
