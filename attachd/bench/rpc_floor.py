"""The RPC floor: the floor app plus the least the design's RPC can cost.

attachd's design puts one oslo.messaging call to the manager on each update (the manager
connects the host) and each delete (it revokes the connection). The RPC floor is the floor
app (:mod:`attachd.bench.floor`) making exactly those calls, on the same broker, to a server
that only answers: no versioned objects, no database work in the server, plain dicts on the
wire. attachd's throughput divided by it says how much of attachd's cost is its own rather
than the design's.

Server::

    python -m attachd.bench.rpc_floor --transport-url rabbit://... --topic T --server S

The floor app becomes the RPC floor when ``ATTACHD_FLOOR_RPC_URL`` and
``ATTACHD_FLOOR_RPC_TOPIC`` are set (see :func:`client_from_environ`).
"""

import argparse
import os
import signal
import threading

from attachd.common import concurrency

# Native threads, as in attachd's processes (before oslo.messaging is imported).
concurrency.use_native_threads()

from oslo_config import cfg  # noqa: E402
import oslo_messaging as messaging  # noqa: E402

EXCHANGE = 'attachd_rpc_floor'


_conf_lock = threading.Lock()
_configured = False


def _conf():
    # oslo.messaging registers some of its options (tracing) on the global ConfigOpts
    # only, as attachd's processes use it; no configuration file is read.
    global _configured
    with _conf_lock:
        if not _configured:
            cfg.CONF([], project='attachd-rpc-floor', default_config_files=[])
            _configured = True
    return cfg.CONF


class Endpoint:
    """Answers like a manager would, without doing anything."""

    target = messaging.Target(version='1.0')

    def connect(self, ctxt, attachment_id, volume_id, connector):
        return {'driver_volume_type': 'iscsi', 'target_portal': '127.0.0.1:3260',
                'target_iqn': 'iqn.2010-10.org.openstack:volume-%s' % volume_id,
                'target_lun': 1, 'attachment_id': attachment_id}

    def disconnect(self, ctxt, attachment_id):
        return None


class Client:
    """One RPC client per process, shared by the app's threads (as attachd's API does)."""

    def __init__(self, url, topic, timeout=30):
        conf = _conf()
        transport = messaging.get_rpc_transport(conf, url=url)
        target = messaging.Target(topic=topic, exchange=EXCHANGE, version='1.0')
        self._client = messaging.get_rpc_client(transport, target, timeout=timeout)

    def connect(self, attachment_id, volume_id, connector):
        return self._client.call({}, 'connect', attachment_id=attachment_id,
                                 volume_id=volume_id, connector=connector)

    def disconnect(self, attachment_id):
        return self._client.call({}, 'disconnect', attachment_id=attachment_id)


def client_from_environ():
    """The RPC client the floor app uses, or None for the bare floor."""
    url = os.environ.get('ATTACHD_FLOOR_RPC_URL')
    topic = os.environ.get('ATTACHD_FLOOR_RPC_TOPIC')
    if not (url and topic):
        return None
    return Client(url, topic)


def main(argv=None):
    parser = argparse.ArgumentParser(description='The RPC floor\'s server: answers the '
                                                 'floor app\'s calls and does nothing else.')
    parser.add_argument('--transport-url', required=True)
    parser.add_argument('--topic', required=True)
    parser.add_argument('--server', required=True)
    args = parser.parse_args(argv)
    conf = _conf()
    transport = messaging.get_rpc_transport(conf, url=args.transport_url)
    target = messaging.Target(topic=args.topic, server=args.server, exchange=EXCHANGE)
    # The threading executor, as attachd-manager uses.
    server = messaging.get_rpc_server(transport, target, [Endpoint()], executor='threading')
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stopped.set())
    signal.signal(signal.SIGINT, lambda signum, frame: stopped.set())
    server.start()
    print('rpc floor serving topic %s' % args.topic, flush=True)
    stopped.wait()
    server.stop()
    server.wait()
    transport.cleanup()


if __name__ == '__main__':
    main()
