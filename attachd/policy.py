"""The policy enforcer: checks a caller against the rules of :mod:`attachd.policies`."""

import threading

from oslo_policy import policy as oslo_policy

from attachd.conf import CONF
from attachd import exception
from attachd import policies

_ENFORCER = None
_LOCK = threading.Lock()


def init(conf=CONF):
    """Create the process's enforcer (once) with the rules registered in code."""
    global _ENFORCER
    with _LOCK:
        if _ENFORCER is None:
            enforcer = oslo_policy.Enforcer(conf)
            enforcer.register_defaults(policies.list_rules())
            _ENFORCER = enforcer
    return _ENFORCER


def reset():
    """Forget the enforcer (tests change policy options between runs)."""
    global _ENFORCER
    with _LOCK:
        if _ENFORCER is not None:
            _ENFORCER.clear()
        _ENFORCER = None


def get_enforcer():
    """Entry point of oslopolicy-checker / oslopolicy-policy-generator."""
    CONF([], project='attachd')
    return init()


def authorize(context, action, target):
    """Raise PolicyNotAuthorized (403) unless ``context`` may perform ``action`` on
    ``target`` (a dict with the resource's ``project_id``)."""
    enforcer = init()
    try:
        enforcer.authorize(action, target, context,
                           do_raise=True, exc=exception.PolicyNotAuthorized, action=action)
    except oslo_policy.InvalidScope:
        raise exception.PolicyNotAuthorized(action=action)


def check_is_admin(context):
    """True when ``context`` passes ``context_is_admin``."""
    return init().authorize('context_is_admin', {}, context, do_raise=False)


def is_allowed(context, action, target):
    """True/False instead of raising (for optional view fields)."""
    return init().authorize(action, target, context, do_raise=False)
