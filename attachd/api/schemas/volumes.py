"""Bodies of the volumes resource (the subset of Cinder's schema attachd serves)."""

from attachd.api.schemas import common

# Sources attachd cannot create a volume from; clients (python-cinderclient) send them as
# null, so null is accepted and anything else is refused by the handler with a clear 400.
UNSUPPORTED_SOURCES = ('snapshot_id', 'source_volid', 'imageRef', 'backup_id',
                       'consistencygroup_id', 'group_id')

size = {'type': ['integer', 'string'], 'pattern': '^[0-9]+$', 'minimum': 1,
        'maximum': 2 ** 31 - 1}

create = {
    'type': 'object',
    'properties': {
        'volume': {
            'type': 'object',
            'properties': {
                'size': size,
                'name': common.name,
                'display_name': common.name,
                'description': common.description,
                'display_description': common.description,
                'availability_zone': common.nullable_string,
                'volume_type': common.nullable_string,
                'metadata': common.metadata,
                'multiattach': common.boolean,
                'scheduler_hints': {'type': ['object', 'null']},
                **{key: {'type': ['string', 'null']} for key in UNSUPPORTED_SOURCES},
            },
            'required': ['size'],
            'additionalProperties': False,
        },
        'OS-SCH-HNT:scheduler_hints': {'type': ['object', 'null']},
    },
    'required': ['volume'],
    'additionalProperties': False,
}
