"""os-reimage beyond the HTTP exchange of ``gabbits/volume-reimage.yaml``: what the
manager and the driver are asked to do, failures, policies and the RPC version pin."""

import os
import time
from unittest import mock

from attachd import context
from attachd import exception
from attachd import policy
from attachd.manager import rpcapi
from attachd.objects import volume as volume_obj
from attachd.tests import base
from attachd.tests.functional import fixtures as api_fixtures
from attachd.tests.functional.manager import base as mbase

IMAGE = '8e5c7f8a-0f7b-4b61-9d7c-2f7d38d3a9b1'
SERVER = '11111111-1111-1111-1111-111111111111'
OTHER_SERVER = '22222222-2222-2222-2222-222222222222'


class ReimageAPITest(base.DbTestCase):

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(api_fixtures.APIFixture(own_database=False))
        self.client = api_fixtures.Client(self.api.app, version='3.68')

    def reimage(self, volume_id, reserved=None, client=None):
        body = {'image_id': IMAGE}
        if reserved is not None:
            body['reimage_reserved'] = reserved
        return (client or self.client).post('/v3/volumes/%s/action' % volume_id,
                                            {'os-reimage': body})

    def reserve(self, volume_id, server=SERVER):
        response = self.client.post('/v3/attachments', {'attachment': {
            'volume_uuid': volume_id, 'instance_uuid': server}})
        self.assertEqual(200, response.status_int, response.text)
        return response.json['attachment']

    def wait_status(self, volume_id, wanted):
        deadline = time.monotonic() + 10
        while self.client.volume_status(volume_id) != wanted:
            self.assertLess(time.monotonic(), deadline, 'volume never became %s' % wanted)
            time.sleep(0.02)

    def test_the_driver_wipes_the_volume(self):
        volume = self.client.create_volume()
        self.assertEqual(202, self.reimage(volume['id']).status_int)
        self.wait_status(volume['id'], 'available')
        self.assertEqual([volume['id']], self.api.driver.wiped)

    def test_downloading_while_the_manager_works(self):
        volume = self.client.create_volume()
        with mock.patch.object(rpcapi.ManagerAPI, 'reimage_volume') as cast:
            self.assertEqual(202, self.reimage(volume['id']).status_int)
        cast.assert_called_once()
        self.assertEqual('downloading', self.client.volume_status(volume['id']))
        # Reserving is allowed while downloading, as Cinder does.
        self.reserve(volume['id'])
        self.assertEqual('reserved', self.client.volume_status(volume['id']))

    def test_error_volume_is_reimaged_and_stays_error(self):
        volume = self.client.create_volume()
        admin = api_fixtures.Client(self.api.app, token='admin:adadadad')
        admin.post('/v3/volumes/%s/action' % volume['id'],
                   {'os-reset_status': {'status': 'error'}})
        self.assertEqual(202, self.reimage(volume['id']).status_int)
        mbase.wait_for(lambda: self.api.driver.wiped)
        self.wait_status(volume['id'], 'error')

    def test_driver_failure_puts_the_volume_in_error(self):
        volume = self.client.create_volume()
        with mock.patch.object(self.api.driver, 'wipe_volume',
                               side_effect=RuntimeError('disk gone')):
            self.assertEqual(202, self.reimage(volume['id']).status_int)
            self.wait_status(volume['id'], 'error')

    def test_reservation_deleted_meanwhile_gives_available(self):
        volume = self.client.create_volume()
        attachment = self.reserve(volume['id'])
        with mock.patch.object(rpcapi.ManagerAPI, 'reimage_volume'):
            self.assertEqual(202, self.reimage(volume['id'], reserved=True).status_int)
        self.client.delete('/v3/attachments/%s' % attachment['id'])
        self.assertEqual('downloading', self.client.volume_status(volume['id']))
        self.api.manager.reimage_volume(
            context.get_admin_context(),
            volume_obj.Volume.get_by_id(context.get_admin_context(), volume['id']))
        self.assertEqual('available', self.client.volume_status(volume['id']))

    def test_two_attachments_is_a_409(self):
        volume = self.client.create_volume(multiattach=True)
        self.reserve(volume['id'])
        self.reserve(volume['id'], OTHER_SERVER)
        response = self.reimage(volume['id'], reserved=True)
        self.assertEqual(409, response.status_int, response.text)
        self.assertIn('more than one server', response.json['conflictingRequest']['message'])
        self.assertEqual('reserved', self.client.volume_status(volume['id']))

    def test_unreachable_manager_restores_the_status(self):
        volume = self.client.create_volume()
        self.reserve(volume['id'])
        with mock.patch.object(rpcapi.ManagerAPI, '_cast',
                               side_effect=exception.ServiceUnavailable(reason='down')):
            response = self.reimage(volume['id'], reserved=True)
        self.assertEqual(503, response.status_int)
        self.assertEqual('reserved', self.client.volume_status(volume['id']))

    def test_managers_pinned_below_1_1_get_no_cast(self):
        self.flags(rpc_version_cap='1.0', group='manager')
        volume = self.client.create_volume()
        response = self.reimage(volume['id'])
        self.assertEqual(503, response.status_int)
        self.assertIn('os-reimage', response.json['serviceUnavailable']['message'])
        self.assertEqual('available', self.client.volume_status(volume['id']))
        self.assertEqual([], self.api.driver.wiped)

    def _policy(self, rules):
        path = os.path.join(self.state_path, 'policy.yaml')
        with open(path, 'w') as f:
            for name, check in rules.items():
                f.write('"%s": "%s"\n' % (name, check))
        self.flags(group='oslo_policy', policy_file=path)
        policy.reset()

    def test_policy_for_a_reserved_volume_is_reimage_reserved(self):
        volume = self.client.create_volume()
        self.reserve(volume['id'])
        self._policy({'volume:reimage': 'role:admin'})
        self.assertEqual(202, self.reimage(volume['id'], reserved=True).status_int)
        mbase.wait_for(lambda: self.api.driver.wiped)
        self.wait_status(volume['id'], 'reserved')

    def test_reimage_reserved_policy_can_forbid(self):
        volume = self.client.create_volume()
        self.reserve(volume['id'])
        self._policy({'volume:reimage_reserved': 'role:admin'})
        response = self.reimage(volume['id'], reserved=True)
        self.assertEqual(403, response.status_int)
        self.assertIn('volume:reimage_reserved', response.json['forbidden']['message'])
        other = self.client.create_volume()
        self.assertEqual(202, self.reimage(other['id']).status_int)
        mbase.wait_for(lambda: self.api.driver.wiped)
        self.wait_status(other['id'], 'available')

    def test_reimage_policy_can_forbid(self):
        volume = self.client.create_volume()
        self._policy({'volume:reimage': 'role:admin'})
        response = self.reimage(volume['id'])
        self.assertEqual(403, response.status_int)
        self.assertIn('volume:reimage ', response.json['forbidden']['message'])


class FileDriverReimageTest(mbase.ManagerTestMixin, base.DbTestCase):
    """The file driver empties the file in place: same path, same size, zeros, sparse."""

    def setUp(self):
        super().setUp()
        self.svc = self.start_manager('file')

    def test_wipe_leaves_a_sparse_file_of_zeros(self):
        volume = self.volume(backend='file', status=mbase.VolumeStatus.CREATING, size=1)
        self.api().create_volume(self.ctx, volume)
        volume = mbase.wait_for(lambda: (self.reload(volume).status == 'available' and
                                         self.reload(volume)))
        path = volume.provider_location
        with open(path, 'r+b') as disk:
            disk.seek(1024 ** 2)
            disk.write(b'old image' * 1000)
        volume.begin_reimage()
        self.api().reimage_volume(self.ctx, volume)
        mbase.wait_for(lambda: self.reload(volume).status == 'available')
        stat = os.stat(path)
        self.assertEqual(1024 ** 3, stat.st_size)
        self.assertLess(stat.st_blocks * 512, 1024 ** 2)
        with open(path, 'rb') as disk:
            disk.seek(1024 ** 2)
            self.assertEqual(b'\0' * 9000, disk.read(9000))

    def test_missing_file_puts_the_volume_in_error(self):
        volume = self.volume(backend='file', status=mbase.VolumeStatus.AVAILABLE, size=1)
        volume.begin_reimage()
        self.api().reimage_volume(self.ctx, volume)
        mbase.wait_for(lambda: self.reload(volume).status == 'error')
