"""Schema fragments shared by several resources."""

uuid = {'type': 'string', 'format': 'uuid'}

nullable_string = {'type': ['string', 'null'], 'maxLength': 255}

name = {'type': ['string', 'null'], 'minLength': 0, 'maxLength': 255}

description = {'type': ['string', 'null'], 'minLength': 0, 'maxLength': 255}

# A host connector: free-form, driver specific (os-brick's connector properties).
connector = {'type': 'object'}

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
