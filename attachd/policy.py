"""The policy enforcer: checks a caller against the rules of :mod:`attachd.policies`."""

import threading
import time

from oslo_policy import policy as oslo_policy

from attachd import exception
from attachd import policies
from attachd.conf import CONF

_ENFORCER = None
_LOCK = threading.Lock()

# Decisions are reused for DECISION_TTL seconds for the same action, target and caller
# credentials. oslo.policy's authorize cost about 290 us a call on this API's hot path
# (measured in-process: it looks for policy files on every call so that a new one is
# picked up, and inspects each check's signature), against a few microseconds for a
# reused decision; every attachment request checks one rule. Policy file changes still
# take effect, within DECISION_TTL (and at once after reset()).
DECISION_TTL = 1.0
_MAX_DECISIONS = 10000
_decisions = {}


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
        _decisions.clear()


def get_enforcer():
    """Entry point of oslopolicy-checker / oslopolicy-policy-generator."""
    CONF([], project='attachd')
    return init()


def _decision_key(context, action, target):
    credentials = tuple(sorted(
        (name, tuple(value) if isinstance(value, list) else value)
        for name, value in context.to_policy_values().items()))
    return action, tuple(sorted(target.items())), credentials


def authorize(context, action, target):
    """Raise PolicyNotAuthorized (403) unless ``context`` may perform ``action`` on
    ``target`` (a dict with the resource's ``project_id``)."""
    if not is_allowed(context, action, target):
        raise exception.PolicyNotAuthorized(action=action)


def _remember(key, now, allowed):
    if key is None:
        return
    if len(_decisions) >= _MAX_DECISIONS:
        _decisions.clear()
    _decisions[key] = (now + DECISION_TTL, allowed)


def is_allowed(context, action, target):
    """True when ``context`` may perform ``action`` on ``target`` (a dict with the
    resource's ``project_id``); decisions are reused for DECISION_TTL seconds."""
    enforcer = init()
    try:
        key = _decision_key(context, action, target)
        hash(key)
    except TypeError:
        # A target or credential value that cannot be a key: decide without reuse.
        key = None
    now = time.monotonic()
    if key is not None:
        decision = _decisions.get(key)
        if decision is not None and decision[0] > now:
            return decision[1]
    try:
        allowed = enforcer.authorize(action, target, context, do_raise=True,
                                     exc=exception.PolicyNotAuthorized, action=action)
    except (oslo_policy.InvalidScope, exception.PolicyNotAuthorized):
        allowed = False
    allowed = bool(allowed)
    _remember(key, now, allowed)
    return allowed
