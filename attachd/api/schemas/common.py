"""Schema fragments shared by several resources."""

uuid = {'type': 'string', 'format': 'uuid'}

nullable_string = {'type': ['string', 'null'], 'maxLength': 255}

name = {'type': ['string', 'null'], 'minLength': 0, 'maxLength': 255}

description = {'type': ['string', 'null'], 'minLength': 0, 'maxLength': 255}

_string = {'type': 'string'}
_strings = {'type': 'array', 'items': _string}
_flag = {'type': 'boolean'}


def _or_null(schema):
    return dict(schema, type=[schema['type'], 'null'])


# A host connector: what os-brick's get_connector_properties() collected on the compute
# host (os_brick.initiator.connector and the get_connector_properties of each of its
# connectors), plus Nova's ``mountpoint``. The keys os-brick
# defines must have its types, so a wrong one is a 400 here rather than a driver's
# TypeError (a 500) or a list stored as the attachment's host; other keys are
# driver-specific and free, bounded by ``[api] max_connector_keys``/``max_connector_bytes``.
# ``host`` and ``mountpoint`` are stored in 255-character columns. Each key may be null,
# "not known", as Cinder accepts: python-openstackclient's ``volume attachment create
# --connect`` sends null for every option not given (drivers read the keys with .get()).
connector_properties = {key: _or_null(value) for key, value in {
    'host': {'type': 'string', 'minLength': 1, 'maxLength': 255},
    'mountpoint': {'type': 'string', 'maxLength': 255},
    'ip': _string,
    'platform': _string,
    'os_type': _string,
    'multipath': _flag,
    'enforce_multipath': _flag,
    'initiator': _string,
    'wwpns': _strings,
    'wwnns': _strings,
    'nqn': _string,
    'uuid': _string,
    'system uuid': _string,
    'nvme_hostid': _string,
    'nvme_native_multipath': _flag,
    'found_dsc': _string,
    'host_ips': _strings,
    'do_local_attach': _flag,
    'sdc_guid': _string,
}.items()}

connector = {'type': 'object', 'properties': connector_properties}

metadata = {
    'type': ['object', 'null'],
    'patternProperties': {
        '^[a-zA-Z0-9-_:. /]{1,255}$': {'type': ['string', 'null'], 'maxLength': 255},
    },
    'additionalProperties': False,
}

boolean = {
    'type': ['boolean', 'string'],
    'enum': [True, 'True', 'TRUE', 'true', '1', 'ON', 'On', 'on', 'YES', 'Yes', 'yes', 'y',
             't', False, 'False', 'FALSE', 'false', '0', 'OFF', 'Off', 'off', 'NO', 'No',
             'no', 'n', 'f'],
}
