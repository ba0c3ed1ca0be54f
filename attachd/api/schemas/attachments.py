"""Bodies of the attachments resource (Cinder's ``cinder/api/schemas/attachments.py``)."""

import copy

from attachd.api.schemas import common

create = {
    'type': 'object',
    'properties': {
        # Cinder's schema declares this stray top-level property; a sibling "type": {} is
        # therefore accepted, and clients that send it keep working.
        'type': {'type': 'object'},
        'attachment': {
            'type': 'object',
            'properties': {
                'instance_uuid': common.uuid,
                'connector': dict(common.connector, type=['object', 'null']),
                'volume_uuid': common.uuid,
            },
            'required': ['volume_uuid'],
            'additionalProperties': False,
        },
    },
    'required': ['attachment'],
    'additionalProperties': False,
}

create_v354 = copy.deepcopy(create)
create_v354['properties']['attachment']['properties']['mode'] = {
    'type': 'string', 'enum': ['rw', 'ro']}

update = {
    'type': 'object',
    'properties': {
        'attachment': {
            'type': 'object',
            'properties': {
                'connector': dict(common.connector, minProperties=1),
            },
            'required': ['connector'],
            'additionalProperties': False,
        },
    },
    'required': ['attachment'],
    'additionalProperties': False,
}

# Clients send null (cinderclient, gophercloud), {} (api-ref) or the attachment id
# (openstacksdk): any value is accepted.
complete = {
    'type': 'object',
    'properties': {'os-complete': {}},
    'required': ['os-complete'],
    'additionalProperties': False,
}
