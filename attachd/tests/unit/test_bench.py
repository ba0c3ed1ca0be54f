"""The benchmark's floors and report: what the figures are computed from."""

import io
import json

from attachd.bench import floor
from attachd.bench import stats
from attachd.tests import base


class RecordingRPC:
    """Stands for the RPC floor's client: records the calls the app makes."""

    def __init__(self):
        self.calls = []

    def connect(self, attachment_id, volume_id, connector):
        self.calls.append(('connect', attachment_id))
        return {'target_portal': 'from-the-server'}

    def disconnect(self, attachment_id):
        self.calls.append(('disconnect', attachment_id))


def _request(app, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else b''
    environ = {'REQUEST_METHOD': method, 'PATH_INFO': path,
               'CONTENT_LENGTH': str(len(data)), 'wsgi.input': io.BytesIO(data)}
    answer = {}

    def start_response(status, headers):
        answer['status'] = status

    raw = b''.join(app(environ, start_response))
    return answer['status'], json.loads(raw) if raw else None


class RPCFloorAppTest(base.TestCase):
    def test_update_and_delete_each_make_one_call(self):
        rpc = RecordingRPC()
        app = floor.FloorApp(floor.NoDatabase(), rpc)
        status, body = _request(app, 'PUT', '/v3/p/attachments/a1',
                                {'attachment': {'connector': {'host': 'h'}}})
        self.assertEqual('200 OK', status)
        self.assertEqual('from-the-server',
                         body['attachment']['connection_info']['target_portal'])
        _request(app, 'POST', '/v3/p/attachments/a1/action', {'os-complete': None})
        _request(app, 'DELETE', '/v3/p/attachments/a1')
        self.assertEqual([('connect', 'a1'), ('disconnect', 'a1')], rpc.calls)

    def test_bare_floor_makes_no_call(self):
        app = floor.FloorApp(floor.NoDatabase())
        status, body = _request(app, 'PUT', '/v3/p/attachments/a1',
                                {'attachment': {'connector': {'host': 'h'}}})
        self.assertEqual('200 OK', status)
        self.assertEqual('127.0.0.1:3260',
                         body['attachment']['connection_info']['target_portal'])


class TableTest(base.TestCase):
    def _figures(self, rate):
        ops = {op: {'p50': 1.0, 'p95': 2.0, 'p99': 3.0} for op in stats.OPERATIONS}
        return {'cycles_per_s': rate, 'requests_per_s': rate * 4, 'ops': ops,
                'error_count': 0, 'errors': {}}

    def test_both_ratios_are_printed(self):
        summary = {'16': {'attachd': self._figures(50.0), 'floor': self._figures(500.0),
                          'rpc_floor': self._figures(100.0), 'ratio': 0.1,
                          'ratio_rpc_floor': 0.5}}
        text = stats.table('title', summary)
        self.assertIn('rpc_floor', text)
        self.assertRegex(text, r'/floor\s+16\s+0\.100')
        self.assertRegex(text, r'/rpc_floor\s+16\s+0\.500')
