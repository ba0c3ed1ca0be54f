"""Policies of volume types and their extra specs (Cinder's names; writes are admin only)."""

from oslo_policy import policy

from attachd.policies import base

MANAGE = 'volume_extension:types_manage'
GET = 'volume_extension:type_get'
GET_ALL = 'volume_extension:type_get_all'
EXTRA_SPECS_INDEX = 'volume_extension:types_extra_specs:index'
EXTRA_SPECS_SHOW = 'volume_extension:types_extra_specs:show'
EXTRA_SPECS_CREATE = 'volume_extension:types_extra_specs:create'
EXTRA_SPECS_UPDATE = 'volume_extension:types_extra_specs:update'
EXTRA_SPECS_DELETE = 'volume_extension:types_extra_specs:delete'

_TYPE = '/types/{type_id}'
_SPECS = _TYPE + '/extra_specs'

rules = [
    policy.DocumentedRuleDefault(MANAGE, base.RULE_ADMIN_API,
                                 'Create or delete a volume type.',
                                 [{'method': 'POST', 'path': '/types'},
                                  {'method': 'DELETE', 'path': _TYPE}],
                                 scope_types=['project']),
    policy.DocumentedRuleDefault(GET, '', 'Show a volume type.',
                                 [{'method': 'GET', 'path': _TYPE}],
                                 scope_types=['project']),
    policy.DocumentedRuleDefault(GET_ALL, '', 'List volume types.',
                                 [{'method': 'GET', 'path': '/types'}],
                                 scope_types=['project']),
    policy.DocumentedRuleDefault(EXTRA_SPECS_INDEX, '', 'List a type\'s extra specs.',
                                 [{'method': 'GET', 'path': _SPECS}],
                                 scope_types=['project']),
    policy.DocumentedRuleDefault(EXTRA_SPECS_SHOW, '', 'Show one extra spec.',
                                 [{'method': 'GET', 'path': _SPECS + '/{key}'}],
                                 scope_types=['project']),
    policy.DocumentedRuleDefault(EXTRA_SPECS_CREATE, base.RULE_ADMIN_API,
                                 'Set extra specs.',
                                 [{'method': 'POST', 'path': _SPECS}],
                                 scope_types=['project']),
    policy.DocumentedRuleDefault(EXTRA_SPECS_UPDATE, base.RULE_ADMIN_API,
                                 'Update one extra spec.',
                                 [{'method': 'PUT', 'path': _SPECS + '/{key}'}],
                                 scope_types=['project']),
    policy.DocumentedRuleDefault(EXTRA_SPECS_DELETE, base.RULE_ADMIN_API,
                                 'Delete one extra spec.',
                                 [{'method': 'DELETE', 'path': _SPECS + '/{key}'}],
                                 scope_types=['project']),
]


def list_rules():
    return rules
