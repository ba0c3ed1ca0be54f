"""API behaviour that needs more than HTTP to set up: failing backends, dead managers,
options, and the same flows on MySQL and PostgreSQL."""

from unittest import mock

import webob

from attachd import context
from attachd import exception
from attachd.api import middleware
from attachd.common import rpc
from attachd.objects import volume as volume_obj
from attachd.tests import base
from attachd.tests.functional import fixtures as api_fixtures

SERVER = '11111111-1111-1111-1111-111111111111'
CONNECTOR = {'host': 'compute1', 'initiator': 'iqn.c1'}


class APITestCase(base.DbTestCase):
    """The API on the test's own database (SQLite unless a mixin says otherwise)."""

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(api_fixtures.APIFixture(own_database=False))
        self.client = api_fixtures.Client(self.api.app)
        self.nova = api_fixtures.Client(self.api.app, service=True)

    def attachments_of(self, volume_id):
        return self.client.get('/v3/attachments?volume_id=%s' % volume_id).json['attachments']

    def create(self, volume_id, conn=None, version=None, instance=SERVER):
        client = self.client
        if version:
            client = api_fixtures.Client(self.api.app, version=version)
        body = {'attachment': {'volume_uuid': volume_id, 'connector': conn}}
        if instance:
            body['attachment']['instance_uuid'] = instance
        return client.post('/v3/attachments', body)


class FailureTest(APITestCase):

    def test_failed_connection_rolls_the_reservation_back(self):
        volume = self.client.create_volume()
        with mock.patch.object(self.api.driver, 'initialize_connection',
                               side_effect=exception.ConnectionFailure(
                                   volume_id=volume['id'], reason='target down')):
            response = self.create(volume['id'], CONNECTOR)
        self.assertEqual(500, response.status_int)
        self.assertIn('target down', response.json['computeFault']['message'])
        # No orphan reserved row; the volume is back where it was.
        self.assertEqual([], self.attachments_of(volume['id']))
        self.assertEqual('available', self.client.volume_status(volume['id']))
        self.assertEqual(200, self.create(volume['id'], CONNECTOR).status_int)

    def test_failed_connection_in_the_override_path_keeps_in_use(self):
        volume = self.client.create_volume()
        first = self.create(volume['id'], CONNECTOR).json['attachment']
        self.client.post('/v3/attachments/%s/action' % first['id'], {'os-complete': None})
        with mock.patch.object(self.api.driver, 'initialize_connection',
                               side_effect=exception.DriverError(reason='boom')):
            response = self.create(volume['id'], dict(CONNECTOR, host='compute2',
                                                      initiator='iqn.c2'))
        self.assertEqual(500, response.status_int)
        self.assertEqual([first['id']], [a['id'] for a in self.attachments_of(volume['id'])])
        self.assertEqual('in-use', self.client.volume_status(volume['id']))

    def test_dead_manager_is_503_and_changes_nothing(self):
        volume = self.client.create_volume()
        other = self.client.create_volume()
        attachment = self.create(volume['id']).json['attachment']
        # The in-process manager of the embedded mode is down when it is no longer
        # registered (whatever its heartbeat says).
        rpc.unregister_local_manager(api_fixtures.SERVER)
        response = self.client.put('/v3/attachments/%s' % attachment['id'],
                                   {'attachment': {'connector': CONNECTOR}})
        self.assertEqual(503, response.status_int)
        self.assertIn('serviceUnavailable', response.json)
        shown = self.client.get('/v3/attachments/%s' % attachment['id']).json['attachment']
        self.assertEqual('reserved', shown['status'])
        # A cast to it (a volume delete) says so too, not that a broker is unreachable.
        response = self.client.delete('/v3/volumes/%s' % other['id'])
        self.assertEqual(503, response.status_int)
        self.assertIn('not running', response.json['serviceUnavailable']['message'])
        # Without a live manager new volumes go to error, as Cinder's "No valid backend".
        created = self.client.post('/v3/volumes', {'volume': {'size': 1}})
        self.assertEqual(202, created.status_int)
        self.assertEqual('error', created.json['volume']['status'])
        # An errored volume without a backend can be deleted.
        deleted = self.client.delete('/v3/volumes/%s' % created.json['volume']['id'])
        self.assertEqual(202, deleted.status_int)

    def test_unexpected_error_is_a_generic_500(self):
        volume = self.client.create_volume()
        with mock.patch('attachd.volume.attach.reserve', side_effect=RuntimeError('secret')):
            response = self.create(volume['id'])
        self.assertEqual(500, response.status_int)
        self.assertNotIn('secret', response.text)
        self.assertNotIn('Traceback', response.text)
        self.assertIn('computeFault', response.json)


class OptionsTest(APITestCase):

    def test_connector_key_limit(self):
        self.flags(group='api', max_connector_keys=3)
        volume = self.client.create_volume()
        attachment = self.create(volume['id']).json['attachment']
        connector = {'host': 'h', 'initiator': 'i', 'ip': '1', 'platform': 'x'}
        response = self.client.put('/v3/attachments/%s' % attachment['id'],
                                   {'attachment': {'connector': connector}})
        self.assertEqual(400, response.status_int)
        self.assertIn('4 keys', response.json['badRequest']['message'])
        # Refused up front on create too: no reservation is made.
        self.assertEqual(400, self.create(volume['id'], connector,
                                          instance=None).status_int)
        self.assertEqual(1, len(self.attachments_of(volume['id'])))

    def test_connector_size_limit(self):
        self.flags(group='api', max_connector_bytes=1024)
        volume = self.client.create_volume()
        attachment = self.create(volume['id']).json['attachment']
        response = self.client.put('/v3/attachments/%s' % attachment['id'], {
            'attachment': {'connector': {'host': 'h', 'wwpns': ['x' * 64] * 20}}})
        self.assertEqual(400, response.status_int)
        self.assertIn('bytes long', response.json['badRequest']['message'])

    def test_owner_may_delete_when_allowed(self):
        volume = self.client.create_volume()
        attachment = self.create(volume['id'], CONNECTOR).json['attachment']
        path = '/v3/attachments/%s' % attachment['id']
        self.assertEqual(409, self.client.delete(path).status_int)
        self.flags(group='api', allow_owner_delete_connected_attachment=True)
        self.assertEqual(200, self.client.delete(path).status_int)

    def test_noauth_service_token_has_the_configured_roles(self):
        self.flags(group='keystone_authtoken', service_token_roles=['nova-service'])
        seen = []
        def app(environ, start_response):
            seen.append(environ)
            start_response('204 No Content', [])
            return []

        app = middleware.NoAuth(app)
        req = webob.Request.blank('/', headers={'X-Auth-Token': 'u:p',
                                                'X-Service-Token': 'nova:svc',
                                                'X-Service-Roles': 'admin'})
        req.call_application(app)
        ctx = context.RequestContext.from_environ(seen[0])
        self.assertEqual(['nova-service'], ctx.service_roles)
        self.assertEqual(('nova', 'svc'), (ctx.service_user_id, ctx.service_project_id))
        self.assertEqual(['member', 'reader'], ctx.roles)
        self.assertTrue(ctx.is_service)

    def test_only_a_service_token_makes_a_service(self):
        volume = self.client.create_volume()
        attachment = self.create(volume['id'], CONNECTOR).json['attachment']
        path = '/v3/attachments/%s' % attachment['id']
        # Neither the caller's own service role nor a forged header of the roles that
        # keystonemiddleware sets for a validated service token (noauth removes it).
        for headers in ({'X-Roles': 'service,member,reader'},
                        {'X-Service-Roles': 'service'},
                        {'X-Service-Roles': 'service', 'X-Service-Identity-Status':
                         'Confirmed', 'X-Service-User-Id': 'nova'}):
            response = self.client.delete(path, headers=headers)
            self.assertEqual(409, response.status_int, headers)
        response = self.client.delete(path, headers={'X-Service-Token': 'nova:service'})
        self.assertEqual(200, response.status_int)

    def test_max_limit_caps_pages(self):
        self.flags(group='api', max_limit=2)
        volume = self.client.create_volume(multiattach=True)
        for i in range(3):
            self.create(volume['id'], instance='11111111-1111-1111-1111-11111111111%d' % i)
        page = self.client.get('/v3/attachments?limit=50').json
        self.assertEqual(2, len(page['attachments']))
        self.assertEqual('next', page['attachments_links'][0]['rel'])


class SharedTargetsTest(APITestCase):

    def test_null_is_true_below_369(self):
        volume = self.client.create_volume()
        ctx = context.get_admin_context()
        db_volume = volume_obj.Volume.get_by_id(ctx, volume['id'])
        db_volume.shared_targets = None
        db_volume.save()
        path = '/v3/volumes/%s' % volume['id']
        for version, expected in (('3.68', True), ('3.69', None)):
            client = api_fixtures.Client(self.api.app, version=version)
            self.assertEqual(expected, client.get(path).json['volume']['shared_targets'])


class _Flows:
    """The core attach/detach flow, run on each database."""

    def test_attach_detach_flow(self):
        volume = self.client.create_volume()
        attachment = self.create(volume['id']).json['attachment']
        self.assertEqual('reserved', self.client.volume_status(volume['id']))
        self.client.put('/v3/attachments/%s' % attachment['id'],
                        {'attachment': {'connector': CONNECTOR}})
        self.client.post('/v3/attachments/%s/action' % attachment['id'],
                         {'os-complete': None})
        self.assertEqual('in-use', self.client.volume_status(volume['id']))
        listed = self.client.get('/v3/attachments?status=attached&sort=created_at:asc').json
        self.assertEqual([attachment['id']], [a['id'] for a in listed['attachments']])
        self.assertEqual(200, self.nova.delete('/v3/attachments/%s' % attachment['id'])
                         .status_int)
        self.assertEqual('available', self.client.volume_status(volume['id']))


class SQLiteFlowTest(_Flows, APITestCase):
    pass


class MySQLFlowTest(base.MySQLMixin, _Flows, APITestCase):
    pass


class PostgreSQLFlowTest(base.PostgreSQLMixin, _Flows, APITestCase):
    pass
