"""Rules the per-resource policies build on, under Cinder's names."""

from oslo_policy import policy

RULE_ADMIN_API = 'rule:admin_api'
# Cinder's project-scoped defaults since Xena: admins, or members (readers) of the
# resource's project.
PROJECT_MEMBER = 'rule:xena_system_admin_or_project_member'
PROJECT_READER = 'rule:xena_system_admin_or_project_reader'
# Administrators, or callers with the service role (Cinder's service_api).
ADMIN_OR_SERVICE = 'rule:admin_or_service'

rules = [
    policy.RuleDefault('context_is_admin', 'role:admin',
                       description='Decides who is an administrator.'),
    policy.RuleDefault('admin_api', 'rule:context_is_admin',
                       description='Default rule for administrative APIs.'),
    policy.RuleDefault('xena_system_admin_or_project_member',
                       '(role:admin) or (role:member and project_id:%(project_id)s)',
                       description='An administrator, or a member of the project that owns '
                                   'the resource.'),
    policy.RuleDefault('xena_system_admin_or_project_reader',
                       '(role:admin) or (role:reader and project_id:%(project_id)s)',
                       description='An administrator, or a reader of the project that owns '
                                   'the resource.'),
    policy.RuleDefault('service_api', 'role:service',
                       description='Default rule for APIs that services call.'),
    policy.RuleDefault('admin_or_service', 'rule:admin_api or rule:service_api',
                       description='An administrator, or a service.'),
]


def list_rules():
    return rules
