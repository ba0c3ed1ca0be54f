"""etc/attachd/nginx-attachd-api.conf, as shipped, in front of attachd-api: TLS, slow
clients cut after client_header_timeout while others are answered, bodies over
attachd's limit refused by nginx."""

import http.client
import os
import shutil
import ssl
import subprocess
import time

from attachd.tests import base as tbase
from attachd.tests.functional.deploy import base
from attachd.tests.functional.deploy import test_slow_clients

NGINX = '/usr/sbin/nginx'
CONFIG = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'etc', 'attachd',
                      'nginx-attachd-api.conf')
HEADER_TIMEOUT = 10
SLOW_CLIENTS = 200

# The main configuration the shipped server block is included in (Debian's nginx.conf
# does the same with sites-enabled/), with everything nginx writes in the test's
# directory.
MAIN = '''daemon off;
worker_processes 1;
pid %(dir)s/nginx.pid;
error_log %(dir)s/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path %(dir)s/body;
    proxy_temp_path %(dir)s/proxy;
    fastcgi_temp_path %(dir)s/fastcgi;
    uwsgi_temp_path %(dir)s/uwsgi;
    scgi_temp_path %(dir)s/scgi;
    include %(dir)s/attachd-api.conf;
}
'''


class FrontProxyTest(test_slow_clients.ApiProcessMixin, base.ProcessTestCase):

    def setUp(self):
        super().setUp()
        tbase.need_service(self, 'nginx (Debian package nginx)', os.path.exists(NGINX))
        self.start_api()
        self.proxy_port = base.free_port()
        directory = os.path.join(self.workdir, 'nginx')
        os.makedirs(directory)
        # nginx's workers run as nobody and write their temporary files here.
        os.chmod(directory, 0o777)
        self.cert = os.path.join(directory, 'api.crt')
        key = os.path.join(directory, 'api.key')
        subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes',
                        '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1',
                        '-days', '1', '-keyout', key, '-out', self.cert],
                       check=True, capture_output=True, timeout=60)
        with open(CONFIG) as f:
            server = f.read()
        for shipped, here in (('listen 8776 ssl', 'listen 127.0.0.1:%d ssl' % self.proxy_port),
                              ('server 127.0.0.1:8777', 'server 127.0.0.1:%d' % self.port),
                              ('/etc/attachd/tls/attachd-api.crt', self.cert),
                              ('/etc/attachd/tls/attachd-api.key', key),
                              ('shared:attachd_api:10m', 'shared:attachd_api:1m')):
            self.assertIn(shipped, server)
            server = server.replace(shipped, here)
        with open(os.path.join(directory, 'attachd-api.conf'), 'w') as f:
            f.write(server)
        main = os.path.join(directory, 'nginx.conf')
        with open(main, 'w') as f:
            f.write(MAIN % {'dir': directory})
        self.nginx = self.spawn([NGINX, '-c', main, '-p', directory, '-e',
                                 os.path.join(directory, 'error.log')], 'nginx')
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        self.tls = ssl.create_default_context(cafile=self.cert)
        tbase.wait_for(lambda: tbase.port_open(self.proxy_port) or self.nginx.poll(),
                       timeout=30)
        self.assertIsNone(self.nginx.poll())

    def request(self, method, path, body=None, headers=None):
        """``(status, seconds, body)`` of one HTTPS request through nginx."""
        started = time.monotonic()
        conn = http.client.HTTPSConnection('127.0.0.1', self.proxy_port, timeout=10,
                                           context=self.tls)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, time.monotonic() - started, response.read()
        finally:
            conn.close()

    def wrap(self, sock):
        return self.tls.wrap_socket(sock, server_hostname='127.0.0.1')

    def test_tls_slow_clients_and_body_limit(self):
        status, _seconds, body = self.request('GET', '/')
        self.assertEqual(300, status, body)
        self.assertIn(b'"versions"', body)

        slow = self.hold(SLOW_CLIENTS, b'GET / HTTP/1.1\r\nHost: api\r\nX-Slow: ',
                         port=self.proxy_port, wrap=self.wrap)
        held_at = time.monotonic()
        for _i in range(5):
            status, seconds, _body = self.request('GET', '/')
            self.assertEqual(300, status)
            self.assertLess(seconds, test_slow_clients.ANSWERED_WITHIN)

        # A body over attachd's limit: 413 from nginx, attachd never sees it.
        status, _seconds, body = self.request(
            'POST', '/v3/%s/volumes' % base.PROJECT, body=b'{' + b' ' * (200 * 1024) + b'}',
            headers={'Content-Type': 'application/json', 'X-Auth-Token': 'u:%s' %
                     base.PROJECT})
        self.assertEqual(413, status, body)

        # The slow clients are cut after client_header_timeout (nginx closes them,
        # logging a 408).
        slow[0].settimeout(HEADER_TIMEOUT + 10)
        try:
            answer = slow[0].recv(100)
        except (ConnectionError, ssl.SSLError):
            answer = b''
        cut_after = time.monotonic() - held_at
        self.assertTrue(answer == b'' or answer.startswith(b'HTTP/1.1 408'), answer)
        self.assertGreater(cut_after, HEADER_TIMEOUT - 2)
        self.assertLess(cut_after, HEADER_TIMEOUT + 5)
