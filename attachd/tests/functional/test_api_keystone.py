"""auth_strategy=keystone against a real Keystone (``attachd.tests.functional.identity``):
keystonemiddleware validates every token with it, and the tokens are fetched with
keystoneauth1's password authentication as any client would.

One Keystone serves the whole class: preparing and starting it is the costly part (see
``KeystoneTest.setup_seconds`` in the test's details). Each test gets a fresh attachd
(in-process, SQLite) configured with ``[keystone_authtoken]`` for that Keystone.
"""

from oslo_config import fixture as config_fixture
from testtools import content

from attachd.conf import CONF
from attachd.tests import base
from attachd.tests.functional import fixtures as api_fixtures
from attachd.tests.functional import identity
from attachd.tests.functional import nova_stub

SERVER = '11111111-1111-1111-1111-111111111111'
CONNECTOR = {'host': 'compute1', 'initiator': 'iqn.c1'}


class KeystoneTest(base.TestCase):

    keystone = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not identity.available():
            return
        cls.keystone = identity.KeystoneFixture()
        cls.nova = nova_stub.NovaStub()
        try:
            cls.keystone.setUp()
            cls.nova.setUp()
            # Nova in the catalog, for attachd's [nova] check (test_nova_check_...).
            cls.keystone.add_endpoint('compute', cls.nova.endpoint)
            cls.tokens = {user: cls.keystone.token(user)
                          for user in ('a-reader', 'a-member', 'a-service', 'b-member',
                                       'admin', 'nova')}
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        for fixture in ('nova', 'keystone'):
            if getattr(cls, fixture, None) is not None:
                getattr(cls, fixture).cleanUp()
                setattr(cls, fixture, None)
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        base.need_service(self, 'The keystone package', identity.available())
        self.addDetail('keystone_setup_seconds',
                       content.text_content('%.1f' % self.keystone.setup_seconds))
        self.nova.answers.clear()
        del self.nova.requests[:]
        self.config = self.useFixture(config_fixture.Config(CONF))
        self.keystone.configure_authtoken(self.config)
        self.api = self.useFixture(api_fixtures.APIFixture(auth_strategy='keystone'))
        self.project_a = self.keystone.projects['project-a']
        self.project_b = self.keystone.projects['project-b']

    def client(self, user):
        """A caller with ``user``'s token."""
        return api_fixtures.Client(self.api.app, token=self.tokens[user])

    def service_headers(self, user='nova'):
        """Nova's service token, sent with the user's token."""
        return {'X-Service-Token': self.tokens[user]}

    def connected_attachment(self, owner='a-member'):
        """A volume of project A attached to SERVER with a connector; the attachment id
        and its path."""
        client = self.client(owner)
        volume = client.create_volume()
        response = client.post('/v3/attachments', {'attachment': {
            'volume_uuid': volume['id'], 'instance_uuid': SERVER, 'connector': CONNECTOR}})
        self.assertEqual(200, response.status_int, response.text)
        attachment_id = response.json['attachment']['id']
        return attachment_id, '/v3/attachments/%s' % attachment_id

    def test_missing_or_invalid_token_is_401(self):
        self.assertEqual(401, api_fixtures.Client(self.api.app, token='').get(
            '/v3/volumes').status_int)
        for token in ('not-a-token', 'admin:%s' % self.project_a):
            response = api_fixtures.Client(self.api.app, token=token).get('/v3/volumes')
            self.assertEqual(401, response.status_int, token)
            self.assertIn(self.keystone.url, response.headers['WWW-Authenticate'])
        self.assertEqual(300, api_fixtures.Client(self.api.app, token='').get(
            '/').status_int)

    def test_projects_are_isolated(self):
        a, b = self.client('a-member'), self.client('b-member')
        volume = a.create_volume()
        attachment_id, path = self.connected_attachment()
        self.assertEqual(200, a.get('/v3/%s/volumes/%s' % (self.project_a, volume['id']))
                         .status_int)
        self.assertEqual(404, b.get('/v3/volumes/%s' % volume['id']).status_int)
        self.assertEqual(404, b.get(path).status_int)
        self.assertEqual(404, b.delete(path).status_int)
        self.assertEqual([], b.get('/v3/volumes').json['volumes'])
        self.assertEqual([], b.get('/v3/attachments').json['attachments'])
        # Project A's URL with B's token: the token's project decides.
        self.assertEqual(400, b.get('/v3/%s/volumes' % self.project_a).status_int)
        # all_tenants is for administrators: a member still sees only its project.
        self.assertEqual([], b.get('/v3/volumes?all_tenants=1').json['volumes'])
        self.assertEqual(2, len(a.get('/v3/volumes').json['volumes']))

    def test_readers_cannot_write(self):
        reader = self.client('a-reader')
        volume = self.client('a-member').create_volume()
        self.assertEqual(200, reader.get('/v3/volumes/%s' % volume['id']).status_int)
        self.assertEqual(1, len(reader.get('/v3/volumes').json['volumes']))
        self.assertEqual(403, reader.post('/v3/volumes', {'volume': {'size': 1}}).status_int)
        self.assertEqual(403, reader.post('/v3/attachments', {'attachment': {
            'volume_uuid': volume['id'], 'instance_uuid': SERVER}}).status_int)
        self.assertEqual(403, reader.delete('/v3/volumes/%s' % volume['id']).status_int)
        self.assertEqual('available',
                         reader.get('/v3/volumes/%s' % volume['id']).json['volume']['status'])

    def test_admin_lists_all_tenants(self):
        a_volume = self.client('a-member').create_volume()
        b_volume = self.client('b-member').create_volume()
        admin = self.client('admin')
        self.assertEqual([], admin.get('/v3/volumes').json['volumes'])
        listed = {v['id'] for v in admin.get('/v3/volumes?all_tenants=1').json['volumes']}
        self.assertEqual({a_volume['id'], b_volume['id']}, listed)
        listed = admin.get('/v3/volumes/detail?all_tenants=1&project_id=%s'
                           % self.project_b).json['volumes']
        self.assertEqual([(b_volume['id'], self.project_b)],
                         [(v['id'], v['os-vol-tenant-attr:tenant_id']) for v in listed])
        # A member's forged role header does not make an administrator.
        forged = self.client('a-member').get('/v3/volumes?all_tenants=1',
                                             headers={'X-Roles': 'admin'})
        self.assertEqual([a_volume['id']], [v['id'] for v in forged.json['volumes']])

    def test_service_token_rules(self):
        attachment_id, path = self.connected_attachment()
        # The owner alone, a user holding the service role in its own token, and a
        # forged header of the service token's roles: a server may still use it.
        self.assertEqual(409, self.client('a-member').delete(path).status_int)
        self.assertEqual(409, self.client('a-service').delete(path).status_int)
        forged = self.client('a-member').delete(path, headers={'X-Service-Roles': 'service'})
        self.assertEqual(409, forged.status_int)
        # Nova's own token sent as the user token does not see project A's attachment.
        self.assertEqual(404, self.client('nova').delete(path).status_int)
        # A service token that Keystone does not validate, or without the service role
        # (service_token_roles_required = true): 401.
        invalid = self.client('a-member').delete(path, headers={'X-Service-Token': 'bogus'})
        self.assertEqual(401, invalid.status_int)
        member_as_service = self.client('a-member').delete(
            path, headers=self.service_headers('a-member'))
        self.assertEqual(401, member_as_service.status_int)
        self.assertEqual(200, self.client('a-member').get(path).status_int)
        # Nova: the user's token plus its service token.
        response = self.client('a-member').delete(path, headers=self.service_headers())
        self.assertEqual(200, response.status_int, response.text)
        self.assertEqual(404, self.client('a-member').get(path).status_int)

    def test_nova_check_finds_nova_in_the_catalog(self):
        # attachd's [nova] credentials find Nova's endpoint in Keystone's catalog; the
        # question goes with the user's token.
        self.keystone.configure(self.config, 'nova')
        attachment_id, path = self.connected_attachment()
        volume_id = self.client('a-member').get(path).json['attachment']['volume_id']
        self.nova.answers[(SERVER, volume_id)] = attachment_id
        self.assertEqual(409, self.client('a-member').delete(path).status_int)
        # The server was deleted: Nova knows it no more, the user may clean up.
        self.nova.answers.clear()
        self.assertEqual(200, self.client('a-member').delete(path).status_int)
        tokens = [headers['X-Auth-Token'] for _path, headers in self.nova.requests]
        self.assertEqual([self.tokens['a-member']] * 2, tokens)

