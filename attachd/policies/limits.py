"""Policy of the limits resource (Cinder's name and default)."""

from oslo_policy import policy

from attachd.policies import base

USED_LIMITS = 'limits_extension:used_limits'

rules = [
    policy.DocumentedRuleDefault(USED_LIMITS, base.PROJECT_READER,
                                 'Show the project\'s limits and usage.',
                                 [{'method': 'GET', 'path': '/limits'}],
                                 scope_types=['project']),
]


def list_rules():
    return rules
