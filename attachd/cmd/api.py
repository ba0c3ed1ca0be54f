"""attachd-api: the API alone, talking to managers over the message broker.

It serves the paste application with gunicorn, started from Python: ``[api] workers``
pre-forked processes of ``[api] threads`` threads each. gunicorn rather than the standard
library's wsgiref because the standalone API faces real clients: it restarts a worker that
dies, and each worker builds its own application (database engine, RPC transport) after
the fork. Its workers are :class:`attachd.common.http_worker.WaitressWorker`: HTTP/1.1 with
keep-alive, each request read whole before a thread runs it, so that slow clients cannot
hold the threads. ``attachd-all`` keeps the dependency-free wsgiref server of
:mod:`attachd.common.wsgi_server` for the embedded mode.
"""

import socket
import sys

from gunicorn.app import base as gunicorn_base
from oslo_log import log as logging

from attachd import exception
from attachd import objects
from attachd.cmd import common
from attachd.conf import CONF
from attachd.conf import messaging as messaging_conf

LOG = logging.getLogger(__name__)

# Reads each request whole before a thread runs it: slow clients hold no thread.
WORKER_CLASS = 'attachd.common.http_worker.WaitressWorker'


class APIServer(gunicorn_base.BaseApplication):
    """gunicorn, configured from attachd's options instead of its command line."""

    def __init__(self, conf):
        self.conf = conf
        super().__init__()

    def load_config(self):
        settings = {
            'bind': '%s:%d' % (self.conf.api.bind_host, self.conf.api.bind_port),
            'workers': self.conf.api.workers,
            'threads': self.conf.api.threads,
            'worker_class': WORKER_CLASS,
            'worker_connections': self.conf.api.max_connections,
            'proc_name': 'attachd-api',
            # The application is loaded in each worker, after the fork.
            'preload_app': False,
            'accesslog': None,
            'timeout': max(60, 2 * self.conf.rpc_response_timeout_api),
        }
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self):
        # In the worker, after the fork: the master, which only supervises the workers,
        # stays without the application's modules (about 40 MB less resident memory).
        from attachd.api import app
        objects.register_all()
        return app.make_app(self.conf)


def check_address(conf=CONF):
    """Raise :class:`attachd.exception.AddressInUse` when ``[api] bind_host:bind_port`` is
    taken: gunicorn would retry for five seconds and end with "Can't connect"."""
    host, port = conf.api.bind_host, conf.api.bind_port
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # As gunicorn binds: a port in TIME_WAIT is free for it.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise exception.address_in_use(exc, host, port) from exc


@common.main
def main(argv=None):
    common.parse_args(argv, description='attachd API server', register_objects=False)
    if not messaging_conf.transport_url(CONF):
        LOG.warning('[DEFAULT] transport_url is not set: attachd-api cannot reach any '
                    'manager and will answer 503 for attach and detach calls. Set it, or '
                    'run attachd-all for the embedded mode.')
    check_address()
    common.check_database()
    APIServer(CONF).run()
    return 0


if __name__ == '__main__':
    sys.exit(main())
