"""Policies of the attachments resource (Cinder's names and defaults).

Show and list have no policy, as in Cinder: visibility is project scoping (another
project's attachment is a 404).
"""

from oslo_policy import policy

from attachd.policies import base

CREATE = 'volume:attachment_create'
UPDATE = 'volume:attachment_update'
DELETE = 'volume:attachment_delete'
COMPLETE = 'volume:attachment_complete'
MULTIATTACH_BOOTABLE = 'volume:multiattach_bootable_volume'

_PATH = '/attachments'

rules = [
    policy.DocumentedRuleDefault(
        CREATE, base.PROJECT_MEMBER, 'Create an attachment (reserve a volume).',
        [{'method': 'POST', 'path': _PATH}], scope_types=['project']),
    policy.DocumentedRuleDefault(
        UPDATE, base.PROJECT_MEMBER, 'Connect an attachment to a host.',
        [{'method': 'PUT', 'path': _PATH + '/{attachment_id}'}], scope_types=['project']),
    policy.DocumentedRuleDefault(
        DELETE, base.PROJECT_MEMBER, 'Delete an attachment.',
        [{'method': 'DELETE', 'path': _PATH + '/{attachment_id}'}],
        scope_types=['project']),
    policy.DocumentedRuleDefault(
        COMPLETE, base.PROJECT_MEMBER, 'Mark an attachment as attached (os-complete).',
        [{'method': 'POST', 'path': _PATH + '/{attachment_id}/action (os-complete)'}],
        scope_types=['project']),
    policy.DocumentedRuleDefault(
        MULTIATTACH_BOOTABLE, base.PROJECT_MEMBER,
        'Attach a multiattach bootable volume that is already in use.',
        [{'method': 'POST', 'path': _PATH}], scope_types=['project']),
]


def list_rules():
    return rules
