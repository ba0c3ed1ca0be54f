"""Policies of the attachments resource (Cinder's names and defaults).

Show and list have no policy, as in Cinder: visibility is project scoping (another
project's attachment is a 404). The credentials in an attachment's connection_info (CHAP
passwords, Ceph keys) are shown only to callers who may connect the volume themselves
(attachd's addition; Cinder shows them to every reader): others see ``***``.
"""

from oslo_policy import policy

from attachd.policies import base

CREATE = 'volume:attachment_create'
UPDATE = 'volume:attachment_update'
DELETE = 'volume:attachment_delete'
COMPLETE = 'volume:attachment_complete'
MULTIATTACH_BOOTABLE = 'volume:multiattach_bootable_volume'
SHOW_CONNECTION_SECRETS = 'volume:attachment_show_connection_secrets'

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
    policy.DocumentedRuleDefault(
        SHOW_CONNECTION_SECRETS, base.PROJECT_MEMBER + ' or service_roles:service',
        'Show the credentials in connection_info (CHAP auth_password and '
        'discovery_auth_password, Ceph keyring and secrets) instead of ***: the callers '
        'who may connect the volume (members, admins, and services such as Nova). A '
        'service is recognised by its service token\'s roles (X-Service-Token, as Nova '
        'sends it), never by the roles of the user token.',
        [{'method': 'GET', 'path': _PATH + '/{attachment_id}'},
         {'method': 'GET', 'path': _PATH + '/detail'},
         {'method': 'POST', 'path': _PATH},
         {'method': 'PUT', 'path': _PATH + '/{attachment_id}'}],
        scope_types=['project']),
]


def list_rules():
    return rules
