"""Bodies of volume types and extra specs."""

from attachd.api.schemas import common

_spec_key = '^[a-zA-Z0-9-_:. /]{1,255}$'
_spec_value = {'type': ['string', 'boolean', 'integer', 'number'], 'maxLength': 255}

extra_specs = {
    'type': 'object',
    'patternProperties': {_spec_key: _spec_value},
    'additionalProperties': False,
}

create = {
    'type': 'object',
    'properties': {
        'volume_type': {
            'type': 'object',
            'properties': {
                'name': {'type': 'string', 'minLength': 1, 'maxLength': 255},
                'description': common.description,
                'os-volume-type-access:is_public': common.boolean,
                'extra_specs': extra_specs,
            },
            'required': ['name'],
            'additionalProperties': False,
        },
    },
    'required': ['volume_type'],
    'additionalProperties': False,
}

set_extra_specs = {
    'type': 'object',
    'properties': {'extra_specs': extra_specs},
    'required': ['extra_specs'],
    'additionalProperties': False,
}

# PUT /types/{id}/extra_specs/{key}: {"<key>": "<value>"}, exactly one key.
update_extra_spec = {
    'type': 'object',
    'patternProperties': {_spec_key: _spec_value},
    'minProperties': 1,
    'maxProperties': 1,
    'additionalProperties': False,
}
