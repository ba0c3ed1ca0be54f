"""A fence racing connects of its host, on SQLite, PostgreSQL and MySQL: when both are
done, the host holds no connection, neither in the database nor at the backend."""

import threading

from oslo_config import cfg

from attachd import context
from attachd import exception
from attachd.db import api as db_api
from attachd.drivers import fake
from attachd.manager import manager as manager_mod
from attachd.objects import fence as fence_obj
from attachd.objects import fields
from attachd.objects import volume as volume_obj
from attachd.objects import volume_attachment as attachment_obj
from attachd.tests import base

VOLUMES = 12
HOST = 'compute1'
CONNECTOR = {'host': HOST, 'initiator': 'iqn.2026-01.org.example:compute1'}


class FenceRaceTest(base.DbTestCase):

    def setUp(self):
        super().setUp()
        self.ctx = context.RequestContext(user_id='user', project_id='project',
                                          is_admin=True)
        self.driver = fake.FakeDriver(cfg.ConfigOpts(), 'fake')
        self.manager = manager_mod.Manager('node', 'fake', self.driver)

    def _reserved(self):
        volume = volume_obj.Volume(self.ctx, size=1, project_id='project',
                                   status=fields.VolumeStatus.AVAILABLE,
                                   attach_status=fields.VolumeAttachStatus.DETACHED,
                                   host='node@fake')
        volume.create()
        return volume, attachment_obj.VolumeAttachment.reserve(self.ctx, volume.id)

    def test_fence_against_concurrent_connects(self):
        pairs = [self._reserved() for _i in range(VOLUMES)]
        barrier = threading.Barrier(VOLUMES + 1)
        connected, refused, failed = [], [], []

        def connect(volume, attachment):
            ctx = context.RequestContext(user_id='user', project_id='project')
            barrier.wait()
            try:
                connected.append(self.manager.attachment_update(ctx, volume, attachment,
                                                                CONNECTOR))
            except exception.HostFenced:
                refused.append(attachment.id)
            except Exception as exc:
                failed.append(exc)

        def fence():
            barrier.wait()
            try:
                fence_obj.Fence.create(self.ctx, HOST)
                self.manager.fence_host(self.ctx, HOST)
            except Exception as exc:
                failed.append(exc)

        threads = [threading.Thread(target=connect, args=pair) for pair in pairs]
        threads.append(threading.Thread(target=fence))
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        self.assertEqual([], failed)
        self.assertEqual(VOLUMES, len(connected) + len(refused))
        for volume, attachment in pairs:
            stored = attachment_obj.VolumeAttachment.get_by_id(self.ctx, attachment.id)
            self.assertIsNone(stored.connector, stored)
            self.assertIn(stored.attach_status, (fields.VolumeAttachStatus.FENCED,
                                                 fields.VolumeAttachStatus.RESERVED))
            self.assertEqual(attachment.id in refused,
                             stored.attach_status == fields.VolumeAttachStatus.RESERVED)
            self.assertEqual(set(), self.driver.connections.get(volume.id, set()))

    def test_the_connect_statement_refuses_a_fenced_host(self):
        # The last guard, under the manager's check: the statement that records the
        # connection carries NOT EXISTS (fence).
        volume, attachment = self._reserved()
        fence_obj.Fence.create(self.ctx, HOST)
        self.assertRaises(exception.HostFenced, db_api.attachment_connected, self.ctx,
                          attachment.id, CONNECTOR, {'driver_volume_type': 'fake'},
                          volume_id=volume.id)
        self.assertIsNone(
            attachment_obj.VolumeAttachment.get_by_id(self.ctx, attachment.id).connector)


class FenceRaceMySQLTest(base.MySQLMixin, FenceRaceTest):
    pass


class FenceRacePostgreSQLTest(base.PostgreSQLMixin, FenceRaceTest):
    pass
