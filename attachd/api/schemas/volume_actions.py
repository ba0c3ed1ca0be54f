"""Bodies of the volume actions (``POST /volumes/{id}/action``), one schema per action."""

from attachd.api.schemas import common
from attachd.objects import fields


def _action(name, value_schema):
    return {
        'type': 'object',
        'properties': {name: value_schema},
        'required': [name],
        'additionalProperties': False,
    }


# Actions without arguments: clients send null or {}.
_no_arguments = {'type': ['object', 'null']}

reserve = _action('os-reserve', _no_arguments)
unreserve = _action('os-unreserve', _no_arguments)
begin_detaching = _action('os-begin_detaching', _no_arguments)
roll_detaching = _action('os-roll_detaching', _no_arguments)

initialize_connection = _action('os-initialize_connection', {
    'type': 'object',
    'properties': {'connector': dict(common.connector, minProperties=1)},
    'required': ['connector'],
    'additionalProperties': False,
})

terminate_connection = _action('os-terminate_connection', {
    'type': 'object',
    'properties': {'connector': dict(common.connector, minProperties=1)},
    'required': ['connector'],
    'additionalProperties': False,
})

attach = _action('os-attach', {
    'type': 'object',
    'properties': {
        'instance_uuid': common.uuid,
        'mountpoint': {'type': 'string', 'maxLength': 255},
        'host_name': {'type': 'string', 'maxLength': 255},
        'mode': {'type': 'string', 'enum': list(fields.AttachMode.ALL)},
    },
    'required': ['mountpoint'],
    'anyOf': [{'required': ['instance_uuid']}, {'required': ['host_name']}],
    'additionalProperties': False,
})

detach = _action('os-detach', {
    'type': ['object', 'null'],
    'properties': {'attachment_id': {'type': ['string', 'null'], 'format': 'uuid'}},
    'additionalProperties': False,
})

force_detach = _action('os-force_detach', {
    'type': ['object', 'null'],
    'properties': {
        'attachment_id': {'type': ['string', 'null'], 'format': 'uuid'},
        'connector': dict(common.connector, type=['object', 'null']),
    },
    'additionalProperties': False,
})

reset_status = _action('os-reset_status', {
    'type': 'object',
    'properties': {
        'status': {'type': 'string', 'enum': list(fields.VolumeStatus.ALL)},
        'attach_status': {'type': 'string',
                          'enum': [fields.VolumeAttachStatus.ATTACHED,
                                   fields.VolumeAttachStatus.DETACHED]},
        'migration_status': {'type': ['string', 'null'], 'maxLength': 255},
    },
    'anyOf': [{'required': ['status']}, {'required': ['attach_status']},
              {'required': ['migration_status']}],
    'additionalProperties': False,
})

update_readonly_flag = _action('os-update_readonly_flag', {
    'type': 'object',
    'properties': {'readonly': common.boolean},
    'required': ['readonly'],
    'additionalProperties': False,
})

reimage = _action('os-reimage', {
    'type': 'object',
    'properties': {
        'image_id': common.uuid,
        'reimage_reserved': common.boolean,
    },
    'required': ['image_id'],
    'additionalProperties': False,
})
