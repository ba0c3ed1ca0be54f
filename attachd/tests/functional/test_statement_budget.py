"""How many SQL statements each attachments API call sends, end to end.

The count covers the whole call: the API's reads and writes and, through the in-process RPC
path, the manager's (in a deployment those run in the manager process, against the same
database). A SQLAlchemy ``before_cursor_execute`` hook on the engine records every
statement; on SQLite that includes the ``BEGIN IMMEDIATE`` each transaction opens with. A
call over its budget fails the test with the statements it sent, so a new query on the hot
path is a decision someone makes, not an accident. Lists must cost the same whatever their
length (no query per item).
"""

import time

from oslo_serialization import jsonutils
from sqlalchemy import event
import webob

from attachd.tests import base
from attachd.tests.functional import fixtures as api_fixtures

PROJECT = '0123456789abcdef0123456789abcdef'
INSTANCE = '11111111-2222-3333-4444-555555555555'
HEADERS = {'X-Auth-Token': 'nova:%s' % PROJECT,
           'X-Service-Token': 'nova:service',
           'OpenStack-API-Version': 'volume 3.44',
           'Content-Type': 'application/json'}
CONNECTOR = {'platform': 'x86_64', 'os_type': 'linux', 'ip': '192.0.2.10',
             'host': 'compute-1', 'multipath': False, 'enforce_multipath': True,
             'initiator': 'iqn.2004-10.com.ubuntu:01:abcdef', 'mountpoint': '/dev/vdb'}

# Statements per call, not counting SQLite's BEGIN IMMEDIATE (PostgreSQL's BEGIN is implicit
# and never reaches the hook either). Set at what the call sends today, so that every new
# statement on the hot path fails here (doc/source/performance.rst):
# - create: the volume with its admin metadata (one statement); the reservation CAS (which
#   sets both statuses of an available volume), the new row;
# - update: the attachment with its volume, the volume's admin metadata and attachments (one
#   statement, on which the API checks for a conflict); the manager's read of the volume's
#   attachments under its lock (connections an undo must keep), with the check that the
#   connector's host is not fenced in the same statement; the recorded connection (volume
#   lock, locking read, update, connector specs, volume status) and the manager's liveness
#   row, read at most once a second;
# - complete: the attachment with its volume; volume lock, CAS, volume status;
# - show: the attachment with its volume, its admin metadata and its attachments;
# - delete: the attachment with its volume's attachments; the manager's read of the other
#   connections; volume lock, locking read, CAS, connector specs, volume status.
BUDGET = {
    'create': 3,
    'update': 8,
    'complete': 4,
    'show': 1,
    'delete': 7,
    'list': 1,
    'list_detail': 1,
}


class StatementCounter:
    def __init__(self, engine):
        self.engine = engine
        self.statements = []

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        if not statement.startswith('BEGIN'):
            self.statements.append(statement)

    def __enter__(self):
        self.statements = []
        event.listen(self.engine, 'before_cursor_execute', self._record)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, 'before_cursor_execute', self._record)


class StatementBudgetMixin:

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(api_fixtures.APIFixture(own_database=False))
        self.counter = StatementCounter(self.engine)
        self.volume_id = self._create_volume()

    def _request(self, method, path, body=None, expect=200, headers=None):
        req = webob.Request.blank('/v3/%s/%s' % (PROJECT, path), method=method)
        req.headers.update(headers or HEADERS)
        if body is not None:
            req.body = jsonutils.dump_as_bytes(body)
        response = req.get_response(self.api.app)
        self.assertEqual(expect, response.status_int, response.text)
        return jsonutils.loads(response.body) if response.body else None

    def _counted(self, name, method, path, body=None, expect=200):
        with self.counter:
            result = self._request(method, path, body, expect)
        count = len(self.counter.statements)
        budget = BUDGET[name]
        self.assertLessEqual(
            count, budget, '%s sent %d statements (budget %d):\n%s'
            % (name, count, budget, '\n'.join(self.counter.statements)))
        return result, count

    def _create_volume(self):
        volume = self._request('POST', 'volumes', {'volume': {'size': 1}},
                               expect=202)['volume']
        for _attempt in range(200):
            shown = self._request('GET', 'volumes/%s' % volume['id'])['volume']
            if shown['status'] == 'available':
                return volume['id']
            time.sleep(0.01)
        self.fail('volume %s never became available' % volume['id'])

    def _create(self, volume_id=None, counted=True):
        body = {'attachment': {'volume_uuid': volume_id or self.volume_id,
                               'instance_uuid': INSTANCE}}
        if counted:
            return self._counted('create', 'POST', 'attachments', body)[0]['attachment']
        return self._request('POST', 'attachments', body)['attachment']

    def test_attach_cycle_within_budget(self):
        attachment = self._create()
        path = 'attachments/%s' % attachment['id']
        self._counted('update', 'PUT', path, {'attachment': {'connector': CONNECTOR}})
        self._counted('complete', 'POST', path + '/action', {'os-complete': None},
                      expect=204)
        self._counted('show', 'GET', path)
        self._counted('delete', 'DELETE', path)

    def test_list_cost_does_not_grow_with_the_page(self):
        volume_ids = [self.volume_id] + [self._create_volume() for _i in range(9)]
        for volume_id in volume_ids[:1]:
            self._create(volume_id, counted=False)
        one = {kind: self._counted(kind, 'GET', path)[1]
               for kind, path in (('list', 'attachments'),
                                  ('list_detail', 'attachments/detail'))}
        for volume_id in volume_ids[1:]:
            self._create(volume_id, counted=False)
        for kind, path in (('list', 'attachments'), ('list_detail', 'attachments/detail')):
            result, count = self._counted(kind, 'GET', path)
            self.assertEqual(10, len(result['attachments']))
            self.assertEqual(one[kind], count,
                             '%s of 10 attachments sent %d statements, of 1: %d'
                             % (kind, count, one[kind]))


class SQLiteStatementBudgetTest(StatementBudgetMixin, base.DbTestCase):
    pass


class PostgreSQLStatementBudgetTest(StatementBudgetMixin, base.PostgreSQLMixin,
                                    base.DbTestCase):
    pass
