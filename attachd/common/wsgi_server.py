"""A small threaded WSGI server for the embedded mode (``attachd-all``).

The standard library's wsgiref, serving each connection on a bounded thread pool
(``[api] threads``). Deployments run the API under gunicorn or uWSGI instead.
"""

from concurrent import futures
import socketserver
from wsgiref import simple_server

from oslo_log import log as logging

from attachd import exception

LOG = logging.getLogger(__name__)


class _RequestHandler(simple_server.WSGIRequestHandler):

    def log_message(self, format, *args):
        LOG.debug('%s %s', self.address_string(), format % args)


class ThreadPoolWSGIServer(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    """wsgiref's server with requests handled on a pool of ``threads`` threads."""

    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 overflows under a few dozen clients connecting at
    # once, and each refused SYN costs the client a one-second retransmission.
    request_queue_size = 128

    def __init__(self, address, threads):
        # Before binding: a failed bind calls server_close(), which shuts the pool down.
        self._pool = futures.ThreadPoolExecutor(max_workers=threads,
                                                thread_name_prefix='wsgi')
        super().__init__(address, _RequestHandler)

    def process_request(self, request, client_address):
        self._pool.submit(self.process_request_thread, request, client_address)

    def server_close(self):
        super().server_close()
        self._pool.shutdown(wait=False, cancel_futures=True)


def make_server(host, port, app, threads):
    """A server bound to ``host:port`` serving ``app``; call ``serve_forever()``.

    Raises :class:`attachd.exception.AddressInUse` when the address is taken.
    """
    try:
        server = ThreadPoolWSGIServer((host, port), threads)
    except OSError as exc:
        raise exception.address_in_use(exc, host, port) from exc
    server.set_app(app)
    return server
