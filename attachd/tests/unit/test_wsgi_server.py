"""attachd-all's threaded WSGI server."""

import errno
import http.client
import socket

from attachd import exception
from attachd.common import wsgi_server
from attachd.tests import base


def _app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'ok']


class WSGIServerTest(base.TestCase):

    def test_port_in_use_is_reported_as_such(self):
        # A failed bind used to end in an AttributeError from server_close(), hiding the
        # "address already in use" the operator needs to see.
        with socket.socket() as taken:
            taken.bind(('127.0.0.1', 0))
            taken.listen()
            port = taken.getsockname()[1]
            exc = self.assertRaises(exception.AddressInUse, wsgi_server.make_server,
                                    '127.0.0.1', port, _app, 2)
        self.assertIn('127.0.0.1:%d' % port, str(exc))
        self.assertEqual(errno.EADDRINUSE, exc.__cause__.errno)

    def test_serves_on_its_pool(self):
        server = wsgi_server.make_server('127.0.0.1', 0, _app, 2)
        self.addCleanup(server.server_close)
        conn = http.client.HTTPConnection('127.0.0.1', server.server_address[1], timeout=5)
        self.addCleanup(conn.close)
        conn.request('GET', '/')
        server.handle_request()
        response = conn.getresponse()
        self.assertEqual((200, b'ok'), (response.status, response.read()))
