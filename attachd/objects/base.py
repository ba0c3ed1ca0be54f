"""Base classes, registry and serializer of attachd's versioned objects."""

from oslo_versionedobjects import base
from oslo_versionedobjects import fields

from attachd.objects import fields as a_fields

# Objects travel between API and managers as primitives of this namespace.
OBJ_NAMESPACE = 'attachd'


class AttachdObjectRegistry(base.VersionedObjectRegistry):
    """The registry of attachd's objects."""


class AttachdObject(base.VersionedObject):
    """Base of attachd's objects."""

    OBJ_PROJECT_NAMESPACE = OBJ_NAMESPACE
    OBJ_SERIAL_NAMESPACE = 'attachd_object'

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


def obj_make_list(context, list_obj, item_cls, db_list, **extra):
    """Fill ``list_obj`` with ``item_cls`` objects made from model rows."""
    list_obj.objects = [item_cls._from_db_object(context, item_cls(context), row, **extra)
                        for row in db_list]
    list_obj._context = context
    list_obj.obj_reset_changes()
    return list_obj


class AttachdObjectSerializer(base.VersionedObjectSerializer):
    """Serializes attachd's objects for oslo.messaging."""

    OBJ_BASE_CLASS = AttachdObject
