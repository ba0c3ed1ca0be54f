"""oslo.messaging's transport options, with attachd's defaults.

``[DEFAULT] transport_url`` is oslo.messaging's own option. attachd registers it early, so
that it can be read before a transport exists, and changes its default from ``rabbit://`` to
empty: without a URL the API calls the manager of its own process (the embedded mode).
"""

from oslo_config import cfg
import oslo_messaging as messaging
from oslo_messaging._drivers import impl_rabbit
from oslo_messaging import opts as messaging_opts
from oslo_messaging import transport as messaging_transport

CONTROL_EXCHANGE = 'attachd'

# oslo.messaging registers these very objects again when a transport is created; changing
# their defaults (as its own set_transport_defaults does for control_exchange) keeps the two
# registrations identical, and survives the configuration resets of test fixtures.
messaging.set_transport_defaults(CONTROL_EXCHANGE)
# oslo.messaging has no public setter for transport_url's default (nor for the rabbit
# driver's options below), and registers its own option objects when a transport is
# created: a copy of them with another default would clash with that registration, and a
# default set on ``conf`` is forgotten on every configuration reset.
cfg.set_defaults(messaging_transport._transport_opts, transport_url=None)
# A silent partition (no reset, no FIN) is noticed by the socket timeouts oslo.messaging
# derives from the heartbeat threshold: a publish waits that long for the broker's
# confirmation, a reconnection as long again. 3 s (oslo.messaging: 60) makes a request
# that needs a manager fail with 503 within 6 s, within the 10 s attachd documents;
# RabbitMQ then sends a heartbeat every 1.5 s on each connection.
cfg.set_defaults(impl_rabbit.rabbit_opts, heartbeat_timeout_threshold=3)


def register_opts(conf):
    conf.register_opts(messaging_transport._transport_opts)


def set_executor_threads(conf, threads):
    """Size the RPC servers' thread pool (oslo.messaging's executor_thread_pool_size)."""
    for group, opts in messaging_opts.list_opts():
        if group is None:
            conf.register_opts([o for o in opts if o.name == 'executor_thread_pool_size'])
    messaging_opts.set_defaults(conf, executor_thread_pool_size=threads)
