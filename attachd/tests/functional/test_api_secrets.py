"""Credentials in connection_info (CHAP passwords, Ceph keys) reach only the callers who
may connect the volume (policy ``volume:attachment_show_connection_secrets``), and no
repr() or log line of an object shows them."""

import fixtures

from attachd.objects import volume as volume_obj
from attachd.objects import volume_attachment as attachment_obj
from attachd.tests.functional.reliability import base as rbase

CHAP = {'auth_method': 'CHAP', 'auth_username': 'attachd-user',
        'auth_password': 'chap-secret-1', 'discovery_auth_method': 'CHAP',
        'discovery_auth_username': 'attachd-user',
        'discovery_auth_password': 'chap-secret-2', 'keyring': 'ceph-key-3',
        'secret_uuid': 'ceph-secret-4'}
SECRETS = ('chap-secret-1', 'chap-secret-2', 'ceph-key-3', 'ceph-secret-4')


class ConnectionSecretsTest(rbase.FakeLoggerMixin, rbase.ApiTestCase):

    def setUp(self):
        super().setUp()
        driver = self.api.driver
        real = driver.initialize_connection

        def with_chap(volume, connector, attachment_id):
            info = real(volume, connector, attachment_id)
            info['data'].update(CHAP)
            return info
        self.useFixture(fixtures.MockPatchObject(driver, 'initialize_connection',
                                                 with_chap))
        self.reader = rbase.Client(self.app, roles='reader')
        self.admin = rbase.Client(self.app, token='admin:%s' % rbase.PROJECT_A)
        # A reader's token with a service token (Nova's, for a user who may only read).
        self.service = rbase.Client(self.app, roles='reader',
                                    headers=rbase.NOVA_SERVICE_TOKEN)
        # A user whose own token holds the service role: not a service (OSSA-2023-003).
        self.self_declared = rbase.Client(self.app, roles='reader,service')

    def assertMasked(self, connection_info):
        for key in ('auth_password', 'discovery_auth_password', 'keyring',
                    'secret_uuid'):
            self.assertEqual('***', connection_info[key], key)
        # Not credentials: still shown, os-brick needs them to pick the method.
        self.assertEqual('attachd-user', connection_info['auth_username'])
        self.assertEqual('CHAP', connection_info['auth_method'])

    def assertShown(self, connection_info):
        for key, value in CHAP.items():
            self.assertEqual(value, connection_info[key], key)

    def test_readers_never_see_the_credentials(self):
        volume = self.volume()
        response = self.nova.create(volume.id, rbase.instance(1), rbase.connector(1))
        self.assertEqual(200, response.status, response)
        attachment_id = response.json['attachment']['id']
        self.assertShown(response.json['attachment']['connection_info'])
        response = self.client.update(attachment_id, rbase.connector(1))
        self.assertShown(response.json['attachment']['connection_info'])

        shown = self.reader.get('/attachments/%s' % attachment_id)
        self.assertEqual(200, shown.status, shown)
        self.assertMasked(shown.json['attachment']['connection_info'])
        listed = self.reader.get('/attachments/detail')
        self.assertEqual(200, listed.status, listed)
        self.assertMasked(listed.json['attachments'][0]['connection_info'])
        for response in (shown, listed, self.reader.get('/attachments'),
                         self.reader.get('/volumes/detail'),
                         self.reader.get('/volumes/%s' % volume.id)):
            for secret in SECRETS:
                self.assertNotIn(secret.encode(), response.body)
        # The legacy connection action is not for readers at all.
        self.assertMasked(self.self_declared.get('/attachments/%s' % attachment_id).json[
            'attachment']['connection_info'])
        response = self.reader.post('/volumes/%s/action' % volume.id, {
            'os-initialize_connection': {'connector': rbase.connector(1)}})
        self.assertFault(response, 403)

        for client in (self.client, self.admin, self.nova, self.service):
            self.assertShown(client.get('/attachments/%s' % attachment_id).json[
                'attachment']['connection_info'])
            self.assertShown(client.get('/attachments/detail').json['attachments'][0][
                'connection_info'])

    def test_repr_and_logs_of_objects_mask_the_credentials(self):
        logs = self.capture_logs()
        volume = self.volume()
        volume.provider_auth = 'CHAP attachd-user chap-secret-1'
        volume.save()
        attachment_id = self.nova.create(volume.id, rbase.instance(1),
                                         rbase.connector(1)).json['attachment']['id']
        volume = volume_obj.Volume.get_by_id(self.admin_ctx, volume.id)
        attachment = attachment_obj.VolumeAttachment.get_by_id(self.admin_ctx,
                                                               attachment_id)
        attachment.volume = volume
        self.assertIn("provider_auth='***'", repr(volume))
        self.assertIn('auth_password=***', repr(attachment))
        for text in (repr(volume), repr(attachment), str(attachment),
                     repr(attachment_obj.VolumeAttachmentList(objects=[attachment])),
                     logs.output):
            for secret in SECRETS:
                self.assertNotIn(secret, text)
        # The objects themselves keep the values (drivers need them).
        self.assertEqual('chap-secret-1', attachment.connection_info['auth_password'])
        self.assertEqual('CHAP attachd-user chap-secret-1', volume.provider_auth)
