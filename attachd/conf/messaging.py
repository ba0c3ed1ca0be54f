"""oslo.messaging's options as attachd uses them.

``[DEFAULT] transport_url`` is oslo.messaging's own option, whose default is ``rabbit://``.
attachd registers it early, so that it can be read before a transport exists, and reads it
through :func:`transport_url`: a URL the operator did not set means no broker, and the API
then calls the managers of its own process (the embedded mode).

Only public oslo.messaging interfaces: ``oslo_messaging.opts.list_opts()`` hands out copies
of the option objects that oslo.messaging registers itself when it builds a transport.
The copies are equal to the originals, so registering them first does not clash with that
later registration; attachd's own defaults are set on the configuration
(``conf.set_default``), never on the option objects, so the two stay equal.
"""

import oslo_messaging as messaging
from oslo_messaging import opts as messaging_opts

CONTROL_EXCHANGE = 'attachd'

RABBIT_GROUP = 'oslo_messaging_rabbit'
# A silent partition (no reset, no FIN) is noticed by the socket timeouts oslo.messaging
# derives from the heartbeat threshold: a publish waits that long for the broker's
# confirmation, a reconnection as long again. 3 s (oslo.messaging: 60) makes a request
# that needs a manager fail with 503 within 6 s, within the 10 s attachd documents;
# RabbitMQ then sends a heartbeat every 1.5 s on each connection.
RABBIT_HEARTBEAT_TIMEOUT_THRESHOLD = 3

messaging.set_transport_defaults(CONTROL_EXCHANGE)


def _library_opts(group_name, names=None):
    for group, opts in messaging_opts.list_opts():
        if group == group_name:
            return [opt for opt in opts if names is None or opt.name in names]
    return []


_LIBRARY_DEFAULT_URL = _library_opts(None, ('transport_url',))[0].default


def register_opts(conf):
    conf.register_opts(_library_opts(None, ('transport_url', 'control_exchange')))


def transport_url(conf):
    """The broker URL the operator configured, or None (the embedded mode).

    oslo.messaging's default, ``rabbit://``, does not count: attachd without a configured
    broker calls its managers in-process instead of looking for one on localhost. (The
    value, not oslo.config's record of where it came from: that record outlives the
    configuration resets of test fixtures.) A deployment names its broker in full.
    """
    url = conf.transport_url
    if not url or url == _LIBRARY_DEFAULT_URL:
        return None
    return url


def set_rabbit_defaults(conf):
    """attachd's defaults for the rabbit driver; called before a transport is built (a
    configuration reset forgets them, a new transport sets them again)."""
    conf.register_opts(_library_opts(RABBIT_GROUP), group=RABBIT_GROUP)
    conf.set_default('heartbeat_timeout_threshold', RABBIT_HEARTBEAT_TIMEOUT_THRESHOLD,
                     group=RABBIT_GROUP)


def set_executor_threads(conf, threads):
    """Size the RPC servers' thread pool (oslo.messaging's executor_thread_pool_size)."""
    conf.register_opts(_library_opts(None, ('executor_thread_pool_size',)))
    messaging_opts.set_defaults(conf, executor_thread_pool_size=threads)
