"""attachd-api's gunicorn worker: waitress inside gunicorn's pre-forked processes.

gunicorn's threaded worker (gthread) hands a connection to a thread as soon as its first
bytes arrive, and the thread then blocks until the whole request is in: about twenty
clients that send part of a request line or of the headers and wait hold every thread of
a 2 x 8 API, and nobody else is answered (``attachd.tests.functional.deploy.
test_slow_clients``). waitress reads and parses requests in one non-blocking loop per
process and gives a thread only a complete request (its body buffered, to a temporary file
past ``inbuf_overflow``), so slow clients cost a socket and a buffer each, not a thread.

gunicorn keeps what it does well: the master binds the sockets, forks ``workers``
processes, restarts one that dies or stops notifying, and reloads or stops them on
signals; each worker builds the application after the fork. No eventlet or gevent: the
loop is waitress's own (``select.poll``), the application runs on native threads.
"""

import os
import time

from gunicorn.workers import base

# waitress and oslo.config are imported by the worker process when it runs, not here: the
# gunicorn master imports this module for the worker class only, and they added 4.4 MB to
# its resident memory (29 MB with them).

# Longest a request's header block may be (waitress's default is 256 KiB). Cinder's
# clients send a few hundred bytes; keystonemiddleware's tokens are a few KiB.
MAX_HEADER_BYTES = 64 * 1024
# A kept-alive connection without a request in progress is closed after this many seconds.
IDLE_SECONDS = 60


class WaitressWorker(base.Worker):
    """A gunicorn worker whose HTTP is waitress's: requests are read whole before a thread
    runs them.

    gunicorn's settings it honours: ``threads`` (threads running requests),
    ``worker_connections`` (open connections per worker; past it the worker stops
    accepting until some close), ``graceful_timeout`` (how long requests in progress may
    finish on stop) and ``timeout`` (the master's liveness check).
    """

    def run(self):
        from waitress import server as waitress_server
        from waitress import wasyncore

        socket_map = {}
        kwargs = {
            'sockets': [listener.sock for listener in self.sockets],
            'threads': self.cfg.threads,
            'connection_limit': self.cfg.worker_connections,
            'channel_timeout': IDLE_SECONDS,
            'max_request_header_size': MAX_HEADER_BYTES,
            # poll(), not select(): select() fails past 1024 file descriptors.
            'asyncore_use_poll': True,
            # X-Forwarded-* headers are oslo.middleware's business (http_proxy_to_wsgi,
            # [oslo_middleware] enable_proxy_headers_parsing), not the server's.
            'clear_untrusted_proxy_headers': False,
            'ident': 'attachd',
            'expose_tracebacks': False,
        }
        max_body = _max_request_body_size()
        if max_body:
            # Bodies are buffered before the application sees them: bound them by the
            # application's own limit rather than waitress's 1 GiB.
            kwargs['max_request_body_size'] = max_body
        server = waitress_server.create_server(self.wsgi, map=socket_map, **kwargs)
        _wait_until_idle(server.task_dispatcher)
        next_check = 0.0
        while self.alive:
            wasyncore.loop(timeout=1.0, map=socket_map, use_poll=True, count=1)
            # Once a second, not at each of the loop's thousands of wake-ups a second
            # under load: each costs a system call or two.
            now = time.monotonic()
            if now >= next_check:
                next_check = now + 1.0
                self.notify()
                if os.getppid() != self.ppid:
                    self.log.info('Parent changed, shutting down: %s', self)
                    break
        self._stop(server, socket_map)

    def _stop(self, server, socket_map):
        """Stop accepting, let the requests in progress finish (at most
        ``graceful_timeout`` seconds), then close every connection."""
        from waitress import server as waitress_server
        from waitress import wasyncore

        listeners = [d for d in list(socket_map.values())
                     if isinstance(d, waitress_server.BaseWSGIServer)]
        for listener in listeners:
            listener.accepting = False
            # Out of the loop's map; the socket itself is gunicorn's master's.
            listener.del_channel(socket_map)
        deadline = time.monotonic() + self.cfg.graceful_timeout
        while time.monotonic() < deadline and any(
                getattr(channel, 'requests', None) or getattr(channel, 'total_outbufs_len', 0)
                for channel in list(socket_map.values())):
            self.notify()
            wasyncore.loop(timeout=0.2, map=socket_map, use_poll=True, count=1)
        server.task_dispatcher.shutdown(timeout=1)
        wasyncore.close_all(socket_map)


def _wait_until_idle(dispatcher, timeout=5.0):
    """Wait (at most ``timeout`` seconds) until waitress's new threads wait for work.

    waitress counts a thread busy from its start until it first waits for a task, and warns
    "Task queue depth is 1" for a request queued meanwhile, as if every thread were busy:
    the first requests to a freshly started worker logged it. Connections wait in the
    listening socket's backlog for these few milliseconds instead.
    """
    deadline = time.monotonic() + timeout
    while dispatcher.active_count and time.monotonic() < deadline:
        time.sleep(0.005)


def _max_request_body_size():
    """``[oslo_middleware] max_request_body_size``, registered once the application's
    sizelimit filter is loaded; None without it."""
    from oslo_config import cfg

    from attachd.conf import CONF
    try:
        return CONF.oslo_middleware.max_request_body_size
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        return None
