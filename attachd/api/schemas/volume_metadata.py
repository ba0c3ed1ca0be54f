"""Bodies of a volume's metadata (Cinder's v3 volume_metadata schema)."""

import copy

# Cinder's metadata bodies: string values (no null, unlike a volume create's metadata).
metadata = {
    'type': 'object',
    'patternProperties': {
        '^[a-zA-Z0-9-_:. /]{1,255}$': {'type': 'string', 'maxLength': 255},
    },
    'additionalProperties': False,
}

# POST and PUT /volumes/{id}/metadata.
create = {
    'type': 'object',
    'properties': {'metadata': metadata},
    'required': ['metadata'],
    'additionalProperties': False,
}

_one_item = copy.deepcopy(metadata)
_one_item.update({'minProperties': 1, 'maxProperties': 1})

# PUT /volumes/{id}/metadata/{key}.
update = {
    'type': 'object',
    'properties': {'meta': _one_item},
    'required': ['meta'],
    'additionalProperties': False,
}
