"""Policies of the volume actions (``POST /volumes/{id}/action``), Cinder's names."""

from oslo_policy import policy

from attachd.policies import base

_PREFIX = 'volume_extension:volume_actions:'
RESERVE = _PREFIX + 'reserve'
UNRESERVE = _PREFIX + 'unreserve'
INITIALIZE_CONNECTION = _PREFIX + 'initialize_connection'
TERMINATE_CONNECTION = _PREFIX + 'terminate_connection'
ATTACH = _PREFIX + 'attach'
DETACH = _PREFIX + 'detach'
BEGIN_DETACHING = _PREFIX + 'begin_detaching'
ROLL_DETACHING = _PREFIX + 'roll_detaching'
RESET_STATUS = 'volume_extension:volume_admin_actions:reset_status'
FORCE_DETACH = 'volume_extension:volume_admin_actions:force_detach'
UPDATE_READONLY = 'volume:update_readonly_flag'
REIMAGE = 'volume:reimage'
REIMAGE_RESERVED = 'volume:reimage_reserved'

_PATH = [{'method': 'POST', 'path': '/volumes/{volume_id}/action'}]


def _rule(name, check, action):
    return policy.DocumentedRuleDefault(name, check, action, _PATH, scope_types=['project'])


rules = [
    _rule(RESERVE, base.PROJECT_MEMBER, 'Reserve a volume (os-reserve).'),
    _rule(UNRESERVE, base.PROJECT_MEMBER, 'Release a reservation (os-unreserve).'),
    _rule(INITIALIZE_CONNECTION, base.PROJECT_MEMBER,
          'Connect a volume to a host (os-initialize_connection).'),
    _rule(TERMINATE_CONNECTION, base.PROJECT_MEMBER,
          'Disconnect a volume from a host (os-terminate_connection).'),
    _rule(ATTACH, base.PROJECT_MEMBER, 'Mark a volume attached (os-attach).'),
    _rule(DETACH, base.PROJECT_MEMBER, 'Detach a volume (os-detach).'),
    _rule(BEGIN_DETACHING, base.PROJECT_MEMBER, 'Begin detaching (os-begin_detaching).'),
    _rule(ROLL_DETACHING, base.PROJECT_MEMBER, 'Roll a detach back (os-roll_detaching).'),
    _rule(RESET_STATUS, base.RULE_ADMIN_API, 'Reset a volume\'s status (os-reset_status).'),
    _rule(FORCE_DETACH, base.RULE_ADMIN_API, 'Force a detach (os-force_detach).'),
    _rule(UPDATE_READONLY, base.PROJECT_MEMBER,
          'Set the read-only flag (os-update_readonly_flag).'),
    _rule(REIMAGE, base.PROJECT_MEMBER,
          'Re-image an available or error volume (os-reimage).'),
    _rule(REIMAGE_RESERVED, base.PROJECT_MEMBER,
          'Re-image a reserved volume (os-reimage with reimage_reserved).'),
]


def list_rules():
    return rules
