"""Bodies of the fences resource (attachd's own)."""

create = {
    'type': 'object',
    'properties': {
        'fence': {
            'type': 'object',
            'properties': {
                # The name compute hosts put in their connector's ``host`` (Nova's
                # [DEFAULT] host), which attachments record as their attached_host.
                'host': {'type': 'string', 'minLength': 1, 'maxLength': 255,
                         'pattern': r'^[^/\x00]+$'},
            },
            'required': ['host'],
            'additionalProperties': False,
        },
    },
    'required': ['fence'],
    'additionalProperties': False,
}
