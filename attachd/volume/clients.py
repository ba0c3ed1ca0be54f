"""The process's clients of the other services: the manager RPC client and the notifier.

Both are created on first use, after the configuration is loaded, and shared by every
request of the process.
"""

import threading

from attachd import notifications
from attachd.manager import rpcapi

_lock = threading.Lock()
_manager_api = None
_notifier = None


def manager_api():
    """The process's manager RPC client."""
    global _manager_api
    with _lock:
        if _manager_api is None:
            _manager_api = rpcapi.ManagerAPI()
        return _manager_api


def notify(context, event_type, volume, attachment=None):
    """Send one of the notifications the API owns (see :mod:`attachd.notifications`).

    :param volume: the volume, or a function returning it: loaded only when notifications
        are on, so the hot path pays no query for them.
    """
    global _notifier
    if _notifier is None:
        _notifier = notifications.get_notifier()
    if not notifications.enabled(_notifier):
        return
    if callable(volume):
        volume = volume()
    notifications.notify(_notifier, context, event_type, volume, attachment)


def notify_fence(context, event_type, fence):
    """Send ``fence.create`` or ``fence.delete`` about ``fence`` (see
    :func:`attachd.notifications.notify_fence`)."""
    global _notifier
    if _notifier is None:
        _notifier = notifications.get_notifier()
    notifications.notify_fence(_notifier, context, event_type, fence)


def reset():
    """Forget the RPC client and notifier (tests switch between transports)."""
    global _manager_api, _notifier
    with _lock:
        _manager_api = None
        _notifier = None
