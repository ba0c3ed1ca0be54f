"""Policies of the volumes resource (Cinder's names and defaults)."""

from oslo_policy import policy

from attachd.policies import base

CREATE = 'volume:create'
GET = 'volume:get'
GET_ALL = 'volume:get_all'
DELETE = 'volume:delete'
MULTIATTACH = 'volume:multiattach'
HOST_ATTRIBUTE = 'volume_extension:volume_host_attribute'
MIG_STATUS_ATTRIBUTE = 'volume_extension:volume_mig_status_attribute'
TENANT_ATTRIBUTE = 'volume_extension:volume_tenant_attribute'
ENCRYPTION_METADATA = 'volume_extension:volume_encryption_metadata'

_PATH = '/volumes'

rules = [
    policy.DocumentedRuleDefault(CREATE, base.PROJECT_MEMBER, 'Create a volume.',
                                 [{'method': 'POST', 'path': _PATH}],
                                 scope_types=['project']),
    policy.DocumentedRuleDefault(GET, base.PROJECT_READER, 'Show a volume.',
                                 [{'method': 'GET', 'path': _PATH + '/{volume_id}'}],
                                 scope_types=['project']),
    policy.DocumentedRuleDefault(GET_ALL, base.PROJECT_READER, 'List volumes.',
                                 [{'method': 'GET', 'path': _PATH},
                                  {'method': 'GET', 'path': _PATH + '/detail'}],
                                 scope_types=['project']),
    policy.DocumentedRuleDefault(DELETE, base.PROJECT_MEMBER, 'Delete a volume.',
                                 [{'method': 'DELETE', 'path': _PATH + '/{volume_id}'}],
                                 scope_types=['project']),
    policy.DocumentedRuleDefault(MULTIATTACH, base.PROJECT_MEMBER,
                                 'Create a multiattach volume.',
                                 [{'method': 'POST', 'path': _PATH}],
                                 scope_types=['project']),
    policy.DocumentedRuleDefault(HOST_ATTRIBUTE, base.RULE_ADMIN_API,
                                 'Show os-vol-host-attr:host in volume views.',
                                 [{'method': 'GET', 'path': _PATH + '/{volume_id}'}],
                                 scope_types=['project']),
    policy.DocumentedRuleDefault(MIG_STATUS_ATTRIBUTE, base.RULE_ADMIN_API,
                                 'Show the migration status in volume views.',
                                 [{'method': 'GET', 'path': _PATH + '/{volume_id}'}],
                                 scope_types=['project']),
    policy.DocumentedRuleDefault(TENANT_ATTRIBUTE, base.PROJECT_READER,
                                 'Show os-vol-tenant-attr:tenant_id in volume views.',
                                 [{'method': 'GET', 'path': _PATH + '/{volume_id}'}],
                                 scope_types=['project']),
    policy.DocumentedRuleDefault(ENCRYPTION_METADATA, base.PROJECT_READER,
                                 'Show a volume\'s encryption metadata.',
                                 [{'method': 'GET', 'path': _PATH + '/{volume_id}/encryption'}],
                                 scope_types=['project']),
]


def list_rules():
    return rules
