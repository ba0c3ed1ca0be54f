"""Field types, and the status vocabularies of :mod:`attachd.statuses` as enums."""

from oslo_versionedobjects import fields

from attachd import statuses

# Re-exported so object modules need only this module.
BooleanField = fields.BooleanField
DateTimeField = fields.DateTimeField
DictOfNullableStringsField = fields.DictOfNullableStringsField
DictOfStringsField = fields.DictOfStringsField
IntegerField = fields.IntegerField
ListOfStringsField = fields.ListOfStringsField
ListOfObjectsField = fields.ListOfObjectsField
ObjectField = fields.ObjectField
StringField = fields.StringField
UUIDField = fields.UUIDField


class BaseAttachdEnum(fields.Enum):
    def __init__(self):
        super().__init__(valid_values=self.__class__.ALL)


class VolumeStatus(statuses.VolumeStatus, BaseAttachdEnum):
    """:class:`attachd.statuses.VolumeStatus` as a field type."""


class VolumeStatusField(fields.BaseEnumField):
    AUTO_TYPE = VolumeStatus()


class VolumeAttachStatus(statuses.VolumeAttachStatus, BaseAttachdEnum):
    """:class:`attachd.statuses.VolumeAttachStatus` as a field type."""


class VolumeAttachStatusField(fields.BaseEnumField):
    AUTO_TYPE = VolumeAttachStatus()


AttachMode = statuses.AttachMode
volume_status_for = statuses.volume_status_for


class DictOfAnyField(fields.AutoTypedField):
    """A dict of JSON values (connectors, connection_info): values keep their types."""

    AUTO_TYPE = fields.Dict(fields.FieldType(), nullable=True)


class IdempotencyKeyStatus(statuses.IdempotencyKeyStatus, BaseAttachdEnum):
    """:class:`attachd.statuses.IdempotencyKeyStatus` as a field type."""


class IdempotencyKeyStatusField(fields.BaseEnumField):
    AUTO_TYPE = IdempotencyKeyStatus()
