"""Policies of a volume's user metadata (Cinder's names and defaults)."""

from oslo_policy import policy

from attachd.policies import base

GET = 'volume:get_volume_metadata'
CREATE = 'volume:create_volume_metadata'
UPDATE = 'volume:update_volume_metadata'
DELETE = 'volume:delete_volume_metadata'

_PATH = '/volumes/{volume_id}/metadata'

rules = [
    policy.DocumentedRuleDefault(GET, base.PROJECT_READER,
                                 'Show a volume\'s metadata or one key of it.',
                                 [{'method': 'GET', 'path': _PATH},
                                  {'method': 'GET', 'path': _PATH + '/{key}'}],
                                 scope_types=['project']),
    policy.DocumentedRuleDefault(CREATE, base.PROJECT_MEMBER,
                                 'Add or change keys of a volume\'s metadata.',
                                 [{'method': 'POST', 'path': _PATH}],
                                 scope_types=['project']),
    policy.DocumentedRuleDefault(UPDATE, base.PROJECT_MEMBER,
                                 'Replace a volume\'s metadata, or change one key.',
                                 [{'method': 'PUT', 'path': _PATH},
                                  {'method': 'PUT', 'path': _PATH + '/{key}'}],
                                 scope_types=['project']),
    policy.DocumentedRuleDefault(DELETE, base.PROJECT_MEMBER,
                                 'Delete one key of a volume\'s metadata.',
                                 [{'method': 'DELETE', 'path': _PATH + '/{key}'}],
                                 scope_types=['project']),
]


def list_rules():
    return rules
