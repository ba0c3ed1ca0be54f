"""A user's removal of a connected attachment asks Nova, when ``[nova]`` is configured,
whether the server still uses it (Cinder's check of bug 2004555), here against a stub of
that one Nova call on loopback (``attachd.tests.functional.nova_stub``)."""

from attachd import compute
from attachd.tests import base
from attachd.tests.functional import fixtures as api_fixtures
from attachd.tests.functional import nova_stub

SERVER = '11111111-1111-1111-1111-111111111111'
CONNECTOR = {'host': 'compute1', 'initiator': 'iqn.c1'}
OTHER = '22222222-2222-2222-2222-222222222222'


class NovaCheckTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.nova = self.useFixture(nova_stub.NovaStub())
        self.api = self.useFixture(api_fixtures.APIFixture(
            overrides={('nova', 'endpoint_override'): self.nova.endpoint}))
        self.client = api_fixtures.Client(self.api.app)
        volume = self.client.create_volume()
        self.volume_id = volume['id']
        response = self.client.post('/v3/attachments', {'attachment': {
            'volume_uuid': self.volume_id, 'instance_uuid': SERVER, 'connector': CONNECTOR}})
        self.assertEqual(200, response.status_int, response.text)
        self.attachment_id = response.json['attachment']['id']
        self.path = '/v3/attachments/%s' % self.attachment_id

    def test_deleted_server_lets_the_user_delete(self):
        # Nova knows no such server any more: 404.
        response = self.client.delete(self.path)
        self.assertEqual(200, response.status_int, response.text)
        self.assertEqual('available', self.client.volume_status(self.volume_id))
        [(path, headers)] = self.nova.requests
        self.assertEqual('/v2.1/servers/%s/os-volume_attachments/%s'
                         % (SERVER, self.volume_id), path)
        # The user's own token, at the microversion that names attachment ids.
        self.assertEqual('alice:aaaaaaaa', headers['X-Auth-Token'])
        self.assertEqual('compute 2.89', headers['OpenStack-API-Version'])

    def test_another_attachment_held_by_nova_lets_the_user_delete(self):
        self.nova.answers[(SERVER, self.volume_id)] = OTHER
        self.assertEqual(200, self.client.delete(self.path).status_int)

    def test_attachment_held_by_nova_is_409(self):
        self.nova.answers[(SERVER, self.volume_id)] = self.attachment_id
        response = self.client.delete(self.path)
        self.assertEqual(409, response.status_int)
        self.assertIn('ConflictNovaUsingAttachment', response.text)
        # The legacy detach paths follow the same rule.
        action = '/v3/volumes/%s/action' % self.volume_id
        for body in ({'os-detach': {'attachment_id': self.attachment_id}},
                     {'os-terminate_connection': {'connector': CONNECTOR}}):
            self.assertEqual(409, self.client.post(action, body).status_int, body)
        self.assertEqual(200, self.client.get(self.path).status_int)

    def test_nova_failing_is_503_and_keeps_the_attachment(self):
        self.nova.status = 500
        response = self.client.delete(self.path)
        self.assertEqual(503, response.status_int)
        self.assertIn(SERVER, response.json['serviceUnavailable']['message'])
        self.assertEqual(200, self.client.get(self.path).status_int)

    def test_nova_unreachable_is_503(self):
        self.nova.server.shutdown()
        self.nova.server.server_close()
        response = self.client.delete(self.path)
        self.assertEqual(503, response.status_int)
        self.assertEqual(200, self.client.get(self.path).status_int)

    def test_nova_refusing_the_token_is_409(self):
        self.nova.status = 403
        self.assertEqual(409, self.client.delete(self.path).status_int)

    def test_service_caller_does_not_ask_nova(self):
        nova = api_fixtures.Client(self.api.app, service=True)
        self.assertEqual(200, nova.delete(self.path).status_int)
        self.assertEqual([], self.nova.requests)

    def test_without_nova_options_nothing_is_asked(self):
        self.flags(group='nova', endpoint_override=None)
        self.assertEqual(409, self.client.delete(self.path).status_int)
        self.assertEqual([], self.nova.requests)


class ConfiguredTest(base.TestCase):
    def test_credentials_or_an_endpoint_configure_nova(self):
        self.assertFalse(compute.configured())
        for name, value in (('auth_type', 'password'), ('auth_section', 'keystone_authtoken'),
                            ('endpoint_override', 'http://nova.test/v2.1')):
            self.flags(group='nova', **{name: value})
            self.assertTrue(compute.configured(), name)
            self.flags(group='nova', **{name: None})
