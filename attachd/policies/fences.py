"""Policies of fences (attachd's own resource: cutting a failed host off every volume).

A fence acts on every project's attachments, so its default is Cinder's for
administrative APIs, or the ``service`` role that Cinder's defaults give to services
(an HA service such as Masakari fencing the host it evacuates).
"""

from oslo_policy import policy

from attachd.policies import base

CREATE = 'attachd:fence:create'
INDEX = 'attachd:fence:index'
DELETE = 'attachd:fence:delete'

_PATH = '/fences'

rules = [
    policy.DocumentedRuleDefault(
        CREATE, base.ADMIN_OR_SERVICE,
        'Fence a host: revoke every connection of every attachment on it, in all '
        'projects, and refuse new ones until the fence is lifted.',
        [{'method': 'POST', 'path': _PATH}], scope_types=['project']),
    policy.DocumentedRuleDefault(
        INDEX, base.ADMIN_OR_SERVICE, 'List the fenced hosts.',
        [{'method': 'GET', 'path': _PATH}], scope_types=['project']),
    policy.DocumentedRuleDefault(
        DELETE, base.ADMIN_OR_SERVICE, 'Lift the fence of a host.',
        [{'method': 'DELETE', 'path': _PATH + '/{host}'}], scope_types=['project']),
]


def list_rules():
    return rules
