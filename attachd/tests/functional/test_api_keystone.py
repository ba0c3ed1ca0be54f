"""auth_strategy=keystone: keystonemiddleware's auth_token, with its own test fixture
standing in for Keystone."""

import time

from keystonemiddleware import fixture as ksm_fixture
import webob

from attachd.tests import base
from attachd.tests.functional import fixtures as api_fixtures

PROJECT = 'aaaaaaaa'


class KeystoneAuthTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.tokens = self.useFixture(ksm_fixture.AuthTokenFixture())
        # www_authenticate_uri: where a refused caller is sent (WWW-Authenticate header).
        self.api = self.useFixture(api_fixtures.APIFixture(
            auth_strategy='keystone',
            overrides={('keystone_authtoken', 'www_authenticate_uri'): 'http://keystone.test/'}))
        # add_token_data returns nothing: the token ids are chosen here.
        self.user_token, self.other_token, self.service_token = 'user', 'other', 'nova'
        self.tokens.add_token_data(token_id=self.user_token, user_id='u1',
                                   project_id=PROJECT, role_list=['member', 'reader'])
        self.tokens.add_token_data(token_id=self.other_token, user_id='u2',
                                   project_id='bbbbbbbb', role_list=['member', 'reader'])
        self.tokens.add_token_data(token_id=self.service_token, user_id='nova',
                                   project_id='5e5e5e5e', role_list=['service'])

    def call(self, method, path, token=None, body=None, headers=None):
        req = webob.Request.blank(path, method=method)
        if token:
            req.headers['X-Auth-Token'] = token
        req.headers['OpenStack-API-Version'] = 'volume 3.44'
        for key, value in (headers or {}).items():
            req.headers[key] = value
        if body is not None:
            req.json = body
        return req.get_response(self.api.app)

    def test_missing_token_is_401(self):
        response = self.call('GET', '/v3/volumes')
        self.assertEqual(401, response.status_int)

    def test_invalid_token_is_401(self):
        response = self.call('GET', '/v3/volumes', token='not-a-token')
        self.assertEqual(401, response.status_int)

    def test_versions_need_no_token(self):
        self.assertEqual(300, self.call('GET', '/').status_int)

    def test_valid_token_and_project_scope(self):
        response = self.call('GET', '/v3/%s/volumes' % PROJECT, token=self.user_token)
        self.assertEqual(200, response.status_int, response.text)
        mismatch = self.call('GET', '/v3/bbbbbbbb/volumes', token=self.user_token)
        self.assertEqual(400, mismatch.status_int)

    def test_noauth_style_token_is_refused(self):
        response = self.call('GET', '/v3/volumes', token='admin:%s' % PROJECT)
        self.assertEqual(401, response.status_int)

    def test_forged_role_headers_are_ignored(self):
        # keystonemiddleware strips the identity headers a caller sends.
        response = self.call('GET', '/v3/volumes?all_tenants=1', token=self.user_token,
                             headers={'X-Roles': 'admin'})
        self.assertEqual(200, response.status_int)
        create = self.call('POST', '/v3/types', token=self.user_token,
                           headers={'X-Roles': 'admin'}, body={'volume_type': {'name': 'x'}})
        self.assertEqual(403, create.status_int)

    def _connected_attachment(self):
        volume = self.call('POST', '/v3/volumes', token=self.user_token,
                           body={'volume': {'size': 1}}).json['volume']
        # Poll through the authenticated API until the manager made the volume.
        for _i in range(500):
            status = self.call('GET', '/v3/volumes/%s' % volume['id'],
                               token=self.user_token).json['volume']['status']
            if status == 'available':
                break
            time.sleep(0.02)
        attachment = self.call('POST', '/v3/attachments', token=self.user_token, body={
            'attachment': {'volume_uuid': volume['id'],
                           'instance_uuid': '11111111-1111-1111-1111-111111111111',
                           'connector': {'host': 'c1', 'initiator': 'iqn.c1'}}})
        self.assertEqual(200, attachment.status_int, attachment.text)
        return attachment.json['attachment']['id']

    def test_delete_needs_a_valid_service_token(self):
        attachment_id = self._connected_attachment()
        path = '/v3/attachments/%s' % attachment_id
        # No service token, a copy of the user token as service token, a bogus one:
        # refused (tempest test_old_versions_reject accepts 401/403/409).
        self.assertEqual(409, self.call('DELETE', path, token=self.user_token).status_int)
        fake = self.call('DELETE', path, token=self.user_token,
                         headers={'X-Service-Token': self.user_token})
        self.assertIn(fake.status_int, (401, 409))
        bogus = self.call('DELETE', path, token=self.user_token,
                          headers={'X-Service-Token': 'bogus'})
        self.assertIn(bogus.status_int, (401, 409))
        # A caller forging the header keystonemiddleware sets for service tokens.
        forged = self.call('DELETE', path, token=self.user_token,
                           headers={'X-Service-Roles': 'service'})
        self.assertEqual(409, forged.status_int)
        # Nova: the user's token plus its own service token.
        allowed = self.call('DELETE', path, token=self.user_token,
                            headers={'X-Service-Token': self.service_token})
        self.assertEqual(200, allowed.status_int, allowed.text)

    def test_other_project_gets_404(self):
        attachment_id = self._connected_attachment()
        response = self.call('GET', '/v3/attachments/%s' % attachment_id,
                             token=self.other_token)
        self.assertEqual(404, response.status_int)
