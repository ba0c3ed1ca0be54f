"""python-cinderclient and openstacksdk, unchanged, against the in-process API.

The clients talk HTTP through wsgi-intercept to the paste-loaded app; authentication is
python-cinderclient's own ``noauth`` plugin (``X-Auth-Token: user:project``).
"""

import time

from cinderclient import api_versions
from cinderclient import client as cinder_client
from cinderclient import exceptions as cinder_exc
from cinderclient.contrib import noauth
from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
import openstack.connection
from wsgi_intercept import interceptor

from attachd.tests import base
from attachd.tests.functional import fixtures as api_fixtures

HOST = 'attachd.test'
PORT = 8776
ENDPOINT = 'http://%s:%d/v3' % (HOST, PORT)
SERVER_1 = '11111111-1111-1111-1111-111111111111'
SERVER_2 = '22222222-2222-2222-2222-222222222222'
CONNECTOR = {'host': 'compute1', 'initiator': 'iqn.1993-08.org.debian:01:c1',
             'ip': '192.0.2.1', 'platform': 'x86_64', 'os_type': 'linux2',
             'multipath': False, 'mountpoint': '/dev/vdb'}


class ClientTestCase(base.TestCase):

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(api_fixtures.APIFixture())
        intercept = interceptor.RequestsInterceptor(app=lambda: self.api.app, host=HOST,
                                                    port=PORT)
        intercept.__enter__()
        self.addCleanup(intercept.__exit__, None, None, None)

    @staticmethod
    def _session(user, project, service=False):
        auth = noauth.CinderNoAuthPlugin(user, project, endpoint=ENDPOINT)
        headers = {'X-Service-Token': 'nova:service'} if service else {}
        return ks_session.Session(auth=auth, additional_headers=headers)

    def cinder(self, version, user='alice', project='aaaaaaaa', service=False):
        return cinder_client.Client(version, session=self._session(user, project, service))

    def wait_for_status(self, get, status, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            found = get()
            if found.status == status:
                return found
            if time.monotonic() > deadline:
                self.fail('still %s, not %s' % (found.status, status))
            time.sleep(0.05)


class CinderclientTest(ClientTestCase):

    def test_version_negotiation(self):
        client = self.cinder('3.0')
        highest = api_versions.discover_version(client, api_versions.APIVersion('3.71'))
        self.assertEqual(api_versions.APIVersion('3.71'), highest)
        min_version, max_version = api_versions._get_server_version_range(client)
        self.assertEqual('3.0', min_version.get_string())
        self.assertEqual('3.71', max_version.get_string())

    def test_attachment_life_cycle_with_multiattach(self):
        admin = self.cinder('3.71', user='admin', project='adadadad')
        vtype = admin.volume_types.create('shared')
        vtype.set_keys({'multiattach': '<is> True'})

        client = self.cinder('3.44')
        volume = client.volumes.create(1, name='data', volume_type='shared')
        volume = self.wait_for_status(lambda: client.volumes.get(volume.id), 'available')
        self.assertTrue(volume.multiattach)

        # Reserve only (what attachment-create without --connect sends), then connect.
        first = client.attachments.create(volume.id, {}, SERVER_1)
        self.assertEqual('reserved', first['status'])
        self.assertEqual('null', first['attach_mode'])
        updated = client.attachments.update(first['id'], CONNECTOR)
        self.assertEqual('attaching', updated.status)
        self.assertEqual('fake', updated.connection_info['driver_volume_type'])
        self.assertEqual('rw', updated.connection_info['access_mode'])
        client.attachments.complete(first['id'])
        shown = client.attachments.show(first['id'])
        self.assertEqual('attached', shown.status)
        self.assertEqual(SERVER_1, shown.instance)

        # A second server on the multiattach volume, connected at once (--connect).
        second = client.attachments.create(volume.id, dict(CONNECTOR, host='compute2',
                                                           initiator='iqn.c2'), SERVER_2)
        self.assertEqual('attaching', second['status'])
        client.attachments.complete(second['id'])
        self.assertEqual('in-use', client.volumes.get(volume.id).status)

        listed = client.attachments.list(search_opts={'volume_id': volume.id})
        self.assertEqual({first['id'], second['id']}, {a.id for a in listed})
        by_status = client.attachments.list(search_opts={'status': 'attached'})
        self.assertEqual(2, len(by_status))
        detailed = client.attachments.list(detailed=True,
                                           search_opts={'instance_id': SERVER_2})
        self.assertEqual([second['id']], [a.id for a in detailed])

        # The owner may not pull a connected attachment from under a server...
        self.assertRaises(cinder_exc.ClientException, client.attachments.delete,
                          first['id'])
        # ...Nova, with its service token, may.
        nova = self.cinder('3.44', service=True)
        nova.attachments.delete(first['id'])
        self.assertEqual('in-use', client.volumes.get(volume.id).status)
        nova.attachments.delete(second['id'])
        self.assertEqual('available', client.volumes.get(volume.id).status)
        self.assertRaises(cinder_exc.NotFound, client.attachments.show, first['id'])

    def test_mode_at_354(self):
        client = self.cinder('3.54')
        volume = client.volumes.create(1)
        self.wait_for_status(lambda: client.volumes.get(volume.id), 'available')
        attachment = client.attachments.create(volume.id, None, mode='ro')
        self.assertEqual('ro', attachment['attach_mode'])
        self.assertIsNone(attachment['instance'])

    def test_attachments_hidden_below_327(self):
        client = self.cinder('3.26')
        self.assertRaises(cinder_exc.VersionNotFoundForAPIMethod, client.attachments.list)

    def test_error_carries_request_id_and_message(self):
        client = self.cinder('3.44')
        exc = self.assertRaises(cinder_exc.NotFound, client.attachments.show,
                                '99999999-9999-9999-9999-999999999999')
        self.assertIn('Volume attachment could not be found', str(exc))
        self.assertTrue(exc.request_id.startswith('req-'))


class OpenStackSDKTest(ClientTestCase):

    def _connection(self, service=False):
        # keystoneauth's token-and-endpoint plugin: the noauth token as a static token.
        auth = token_endpoint.Token(ENDPOINT + '/aaaaaaaa', 'alice:aaaaaaaa')
        headers = {'X-Service-Token': 'nova:service'} if service else {}
        return openstack.connection.Connection(
            session=ks_session.Session(auth=auth, additional_headers=headers),
            block_storage_endpoint_override=ENDPOINT + '/aaaaaaaa',
            block_storage_api_version='3')

    def test_block_storage_attachments(self):
        conn = self._connection()
        volume = conn.block_storage.create_volume(size=1, name='sdk')
        volume = self.wait_for_status(lambda: conn.block_storage.get_volume(volume.id),
                                      'available')
        attachment = conn.block_storage.create_attachment(volume.id, connector=CONNECTOR,
                                                          instance=SERVER_1)
        self.assertEqual('attaching', attachment.status)
        self.assertEqual('fake', attachment.connection_info['driver_volume_type'])
        conn.block_storage.complete_attachment(attachment.id)
        fetched = conn.block_storage.get_attachment(attachment.id)
        self.assertEqual('attached', fetched.status)
        listed = list(conn.block_storage.attachments(volume_id=volume.id))
        self.assertEqual([attachment.id], [a.id for a in listed])
        self.assertEqual('in-use', conn.block_storage.get_volume(volume.id).status)
        service = self._connection(service=True)
        service.block_storage.delete_attachment(attachment.id)
        self.assertEqual('available', conn.block_storage.get_volume(volume.id).status)
        # delete_attachment ignores a missing attachment by default, as Nova does.
        service.block_storage.delete_attachment(attachment.id)
