"""What the manager RPC client sends under each [manager] rpc_version_cap."""

from unittest import mock

import fixtures
import oslo_messaging as messaging

from attachd import context
from attachd import exception
from attachd.common import rpc
from attachd.manager import rpcapi
from attachd.objects import volume as volume_obj
from attachd.objects import volume_attachment
from attachd.tests import base

CONNECTOR = {'initiator': 'iqn.1993-08.org.debian:01:abc', 'host': 'compute1'}
VOLUME_ID = '6f1d3b0c-6c58-4a4c-bd5b-2a0bc5f7c8a1'
ATTACHMENT_ID = '0b0a8f9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b'


class VersionCapTest(base.TestCase):
    """ManagerAPI on the embedded mode's client, whose prepare() records what each method
    asks for (server, version) and whose call/cast are recorded instead of delivered."""

    def setUp(self):
        super().setUp()
        self.flags(transport_url=None)
        self.ctx = context.get_admin_context()
        self.volume = volume_obj.Volume(self.ctx, id=VOLUME_ID, host='node1@fake', size=1)
        self.attachment = volume_attachment.VolumeAttachment(
            self.ctx, id=ATTACHMENT_ID, volume_id=VOLUME_ID, attach_status='reserved')
        self.attachment.volume = self.volume

    def client(self, cap=None):
        self.flags(rpc_version_cap=cap, group='manager')
        api = rpcapi.ManagerAPI()
        self.useFixture(fixtures.MockPatchObject(api, '_check_alive'))
        self.prepare = mock.Mock(return_value=mock.Mock())
        self.useFixture(fixtures.MockPatchObject(api.client, 'prepare', self.prepare))
        return api

    def sent_version(self):
        return self.prepare.call_args.kwargs['version']

    def test_uncapped_sends_each_methods_version(self):
        api = self.client()
        self.assertTrue(api.client.can_send_version(rpcapi.RPC_API_VERSION))
        api.create_volume(self.ctx, self.volume)
        self.assertEqual('1.0', self.sent_version())
        self.prepare.return_value.cast.assert_called_once_with(
            self.ctx, 'create_volume', volume=self.volume)
        api.reimage_volume(self.ctx, self.volume)
        self.assertEqual('1.1', self.sent_version())
        self.assertEqual('node1@fake', self.prepare.call_args.kwargs['server'])
        self.assertEqual(0, self.prepare.call_args.kwargs['retry'])

    def test_attachment_update_sends_1_2_without_the_volume_in_the_attachment(self):
        api = self.client()
        api.attachment_update(self.ctx, self.volume, self.attachment, CONNECTOR)
        self.assertEqual('1.2', self.sent_version())
        call = self.prepare.return_value.call
        self.assertEqual((self.ctx, 'attachment_update'), call.call_args.args)
        sent = call.call_args.kwargs['attachment']
        self.assertFalse(sent.obj_attr_is_set('volume'))
        self.assertEqual(ATTACHMENT_ID, sent.id)
        self.assertEqual({}, sent.obj_get_changes())
        self.assertIs(self.ctx, sent.obj_context)
        self.assertTrue(self.attachment.obj_attr_is_set('volume'))

    def test_capped_at_1_1_refuses_attachment_updates_before_sending(self):
        api = self.client('1.1')
        exc = self.assertRaises(exception.ManagerTooOld, api.attachment_update, self.ctx,
                                self.volume, self.attachment, CONNECTOR)
        self.assertEqual(503, exc.code)
        self.assertIn('attachment updates', str(exc))
        self.prepare.assert_not_called()
        api.reimage_volume(self.ctx, self.volume)
        self.assertEqual('1.1', self.sent_version())

    def test_capped_at_1_0_refuses_reimage(self):
        api = self.client('1.0')
        exc = self.assertRaises(exception.ManagerTooOld, api.reimage_volume, self.ctx,
                                self.volume)
        self.assertIn('os-reimage', str(exc))
        self.prepare.assert_not_called()
        api.delete_volume(self.ctx, self.volume)
        self.assertEqual('1.0', self.sent_version())

    def test_a_clustered_volume_goes_to_its_clusters_queue(self):
        api = self.client()
        self.volume.cluster_name = 'cluster1@fake'
        api.delete_volume(self.ctx, self.volume)
        self.assertEqual('cluster1@fake', self.prepare.call_args.kwargs['server'])
        self.volume.cluster_name = None
        api.delete_volume(self.ctx, self.volume)
        self.assertEqual('node1@fake', self.prepare.call_args.kwargs['server'])

    def test_a_volume_without_a_backend_is_not_sent(self):
        api = self.client()
        self.volume.host = None
        self.assertRaises(exception.InvalidVolume, api.create_volume, self.ctx,
                          self.volume)
        self.prepare.assert_not_called()


class CanSendVersionTest(base.TestCase):
    """The embedded mode's client answers can_send_version as oslo.messaging's RPCClient
    does (on its in-memory "fake" driver; nothing is sent)."""

    def test_same_answers_as_oslo_messaging(self):
        self.flags(transport_url='fake:/')
        transport = messaging.get_rpc_transport(rpc.CONF)
        self.addCleanup(transport.cleanup)
        target = messaging.Target(topic=rpcapi.TOPIC, version=rpcapi.RPC_API_VERSION)
        serializer = rpc.RequestContextSerializer()
        for cap in (None, '1.0', '1.1', '1.2'):
            library = messaging.get_rpc_client(transport, target, version_cap=cap)
            local = rpc.LocalClient(serializer, version_cap=cap)
            for version in ('1.0', '1.1', '1.2', '1.3', '2.0'):
                self.assertEqual(library.can_send_version(version),
                                 local.can_send_version(version), (cap, version))
        capped = rpc.LocalClient(serializer, version_cap='1.1')
        self.assertFalse(capped.can_send_version('1.2'))
        self.assertTrue(capped.can_send_version('1.0'))
