"""A stand-in for the one Nova call attachd makes, on a real HTTP server on loopback.

Nova's API cannot run in these tests; attachd only ever sends it
``GET /servers/{server}/os-volume_attachments/{volume}`` (compute microversion 2.89).
The stub answers that path with what the test put in :attr:`NovaStub.answers` and
records every request it got.
"""

from http import server as http_server
import json
import re
import threading

import fixtures

_PATH = re.compile(r'^/v2\.1/servers/([^/]+)/os-volume_attachments/([^/?]+)$')


class NovaStub(fixtures.Fixture):
    """``self.endpoint`` is the Compute endpoint (``.../v2.1``).

    :attr answers: ``{(server, volume): attachment_id}``; a pair absent is a 404, as
        Nova answers for a deleted server. ``status`` forces every answer's status.
    :attr requests: ``(path, headers)`` of every request received.
    """

    def __init__(self):
        super().__init__()
        self.answers = {}
        self.status = None
        self.requests = []

    def _setUp(self):
        stub = self

        class Handler(http_server.BaseHTTPRequestHandler):
            def do_GET(self):
                stub.requests.append((self.path, dict(self.headers)))
                match = _PATH.match(self.path)
                held = match and stub.answers.get(match.groups())
                if stub.status:
                    self._answer(stub.status, {'error': 'forced'})
                elif held:
                    self._answer(200, {'volumeAttachment': {
                        'serverId': match.group(1), 'volumeId': match.group(2),
                        'attachment_id': held, 'device': '/dev/vdb'}})
                else:
                    self._answer(404, {'itemNotFound': {'code': 404,
                                                        'message': 'not found'}})

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format, *args):
                pass

        self.server = http_server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.server.daemon_threads = True
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 5)
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.endpoint = 'http://127.0.0.1:%d/v2.1' % self.server.server_address[1]
