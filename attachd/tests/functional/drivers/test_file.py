"""The file driver through the manager, attached with os-brick's local connector."""

import os

from os_brick.initiator import connector as brick_connector

from attachd.tests import base
from attachd.tests.functional.manager import base as mbase

DATA = b'attachd keeps what you wrote\n' * 100


class FileDriverTest(mbase.ManagerTestMixin, base.DbTestCase):

    def setUp(self):
        super().setUp()
        self.svc = self.start_manager('file')
        self.brick = brick_connector.InitiatorConnector.factory('LOCAL', root_helper=None)

    def _create(self):
        volume = self.volume(backend='file', status=mbase.VolumeStatus.CREATING, size=1)
        self.api().create_volume(self.ctx, volume)
        return mbase.wait_for(lambda: (self.reload(volume).status == 'available' and
                                       self.reload(volume)))

    def _attach(self, volume):
        attachment = self.reserve(volume)
        info = self.api().attachment_update(self.ctx, volume, attachment,
                                            mbase.connector()).connection_info
        attachment.complete()
        return attachment, info

    def _detach(self, volume, attachment):
        attachment = self.attachment(attachment.id)
        self.api().attachment_delete(self.ctx, volume, attachment)
        attachment.destroy()

    def test_volume_is_a_sparse_file_of_its_size(self):
        volume = self._create()
        path = os.path.join(self.state_path, 'volumes', 'volume-%s' % volume.id)
        self.assertEqual(path, volume.provider_location)
        stat = os.stat(path)
        self.assertEqual(1024 ** 3, stat.st_size)
        self.assertLess(stat.st_blocks * 512, 1024 ** 2)

    def test_write_detach_reattach_read_back(self):
        volume = self._create()
        attachment, info = self._attach(volume)
        self.assertEqual('local', info['driver_volume_type'])
        self.assertEqual('in-use', self.reload(volume).status)
        device = self.brick.connect_volume(info)
        with open(device['path'], 'r+b') as disk:
            disk.seek(4096)
            disk.write(DATA)
            disk.flush()
            os.fsync(disk.fileno())
        self.brick.disconnect_volume(info, device)
        self._detach(volume, attachment)
        self.assertEqual('available', self.reload(volume).status)

        attachment, info = self._attach(volume)
        device = self.brick.connect_volume(info)
        with open(device['path'], 'rb') as disk:
            disk.seek(4096)
            self.assertEqual(DATA, disk.read(len(DATA)))
            disk.seek(0)
            self.assertEqual(b'\0' * 4096, disk.read(4096))
        self.brick.disconnect_volume(info, device)
        self._detach(volume, attachment)

    def test_delete_volume_removes_its_file(self):
        volume = self._create()
        volume.begin_delete()
        self.api().delete_volume(self.ctx, volume)
        mbase.wait_for(lambda: not os.path.exists(volume.provider_location))
