"""attachd-api under clients that open connections, send part of a request and wait
(slowloris): they must not keep anyone else from being answered."""

import http.client
import os
import socket
import time

from attachd.tests.functional.deploy import base

SLOW_CLIENTS = 200
# Every other client is answered within this. It takes milliseconds when nothing holds
# the threads; a starved probe waits until the slow clients go away, which they do not
# before the probe's own 10 s timeout (gunicorn's gthread worker did that). The margin is
# for a loaded CI machine, where two test workers share two cores.
ANSWERED_WITHIN = 3.0


def get(port, path, timeout=10):
    """``(status, seconds)`` of one ``GET path`` on a new connection."""
    started = time.monotonic()
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
    try:
        conn.request('GET', path)
        response = conn.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    finally:
        conn.close()


class ApiProcessMixin:
    """attachd-api as a process (two workers of four threads, SQLite) on ``self.port``."""

    def start_api(self):
        self.port = base.free_port()
        state = os.path.join(self.workdir, 'state')
        # Two workers of four threads: 200 slow clients are 25 times the threads.
        config = self.write_config(
            '[DEFAULT]\nstate_path = %s\n[database]\nconnection = sqlite:///%s/api.sqlite\n'
            '[api]\nbind_port = %d\nworkers = 2\nthreads = 4\n' % (state, self.workdir,
                                                                 self.port))
        os.makedirs(state)
        manage = self.spawn([base.console_script('attachd-manage'), '--config-file', config,
                             'db', 'sync'], 'attachd-manage')
        self.assertEqual(0, manage.wait(120))
        self.api = self.spawn([base.console_script('attachd-api'), '--config-file', config],
                              'attachd-api')
        base.wait_http('http://127.0.0.1:%d/' % self.port, timeout=60, process=self.api)

    def hold(self, count, partial, port=None, wrap=None):
        """Open ``count`` connections (to ``port``, wrapped by ``wrap``, e.g. TLS) that
        each send ``partial`` and then wait."""
        held = []
        self.addCleanup(lambda: [s.close() for s in held])
        for _i in range(count):
            sock = socket.create_connection(('127.0.0.1', port or self.port), timeout=10)
            if wrap is not None:
                sock = wrap(sock)
            sock.sendall(partial)
            held.append(sock)
        return held


class SlowClientsTest(ApiProcessMixin, base.ProcessTestCase):

    def setUp(self):
        super().setUp()
        self.start_api()

    def test_partial_requests_do_not_starve_other_clients(self):
        self.hold(SLOW_CLIENTS // 2, b'GET /v3/ HT')
        slow = self.hold(SLOW_CLIENTS // 2, b'GET / HTTP/1.1\r\nHost: api\r\nX-Slow: ')
        # Let the server accept and start reading them all.
        time.sleep(1)
        for _i in range(10):
            status, seconds = get(self.port, '/')
            self.assertEqual(300, status)
            self.assertLess(seconds, ANSWERED_WITHIN)
        # A slow client that finally completes its request is answered too.
        slow[0].sendall(b'1\r\n\r\n')
        slow[0].settimeout(10)
        self.assertTrue(slow[0].recv(100).startswith(b'HTTP/1.1 300'))
