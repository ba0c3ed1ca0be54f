"""Compare-and-swap under contention, on SQLite, PostgreSQL and MySQL."""

import threading

from attachd import context
from attachd import exception
from attachd.objects import fields
from attachd.objects import volume as volume_obj
from attachd.objects import volume_attachment as attachment_obj
from attachd.tests import base

THREADS = 32


class ReservationRaceTest(base.DbTestCase):
    """Many threads reserve one volume at once: the database decides the one winner."""

    def setUp(self):
        super().setUp()
        self.ctx = context.RequestContext(user_id='user', project_id='project')

    def _volume(self, multiattach=False):
        volume = volume_obj.Volume(self.ctx, size=1, project_id='project',
                                   status=fields.VolumeStatus.AVAILABLE,
                                   attach_status=fields.VolumeAttachStatus.DETACHED,
                                   multiattach=multiattach, host='node@fake')
        volume.create()
        return volume

    def _race(self, volume_id, instance_for):
        barrier = threading.Barrier(THREADS)
        won, lost, failed = [], [], []

        def reserve(i):
            ctx = context.RequestContext(user_id='user', project_id='project')
            barrier.wait()
            try:
                won.append(attachment_obj.VolumeAttachment.reserve(ctx, volume_id,
                                                                   instance_for(i)))
            except exception.InvalidVolume as exc:
                lost.append(exc)
            except Exception as exc:
                failed.append(exc)

        threads = [threading.Thread(target=reserve, args=(i,)) for i in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual([], failed)
        return won, lost

    def test_one_winner_on_non_multiattach_volume(self):
        volume = self._volume()
        won, lost = self._race(volume.id,
                               lambda i: '00000000-0000-0000-0000-%012d' % i)
        self.assertEqual(1, len(won))
        self.assertEqual(THREADS - 1, len(lost))
        for exc in lost:
            self.assertIn('status must be available or downloading to reserve, but the '
                          'current status is reserved', str(exc))
        rows = attachment_obj.VolumeAttachmentList.get_all_by_volume(self.ctx, volume.id)
        self.assertEqual([won[0].id], [a.id for a in rows])
        volume.refresh()
        self.assertEqual(fields.VolumeStatus.RESERVED, volume.status)

    def test_all_win_on_multiattach_volume(self):
        volume = self._volume(multiattach=True)
        won, lost = self._race(volume.id,
                               lambda i: '00000000-0000-0000-0000-%012d' % i)
        self.assertEqual(THREADS, len(won))
        self.assertEqual([], lost)
        rows = attachment_obj.VolumeAttachmentList.get_all_by_volume(self.ctx, volume.id)
        self.assertEqual(THREADS, len(rows))
        volume.refresh()
        self.assertEqual(fields.VolumeStatus.RESERVED, volume.status)

    def test_delete_last_races_reserve(self):
        """Deleting the last attachment while others reserve leaves a consistent status."""
        volume = self._volume(multiattach=True)
        first = attachment_obj.VolumeAttachment.reserve(self.ctx, volume.id)
        barrier = threading.Barrier(2)
        errors = []

        def delete():
            barrier.wait()
            try:
                first.destroy()
            except Exception as exc:
                errors.append(exc)

        def reserve():
            barrier.wait()
            try:
                attachment_obj.VolumeAttachment.reserve(
                    context.RequestContext(user_id='user', project_id='project'), volume.id)
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=delete), threading.Thread(target=reserve)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual([], errors)
        volume.refresh()
        remaining = attachment_obj.VolumeAttachmentList.get_all_by_volume(self.ctx, volume.id)
        self.assertEqual(1, len(remaining))
        self.assertEqual(fields.VolumeStatus.RESERVED, volume.status)


class ReservationRaceMySQLTest(base.MySQLMixin, ReservationRaceTest):
    pass


class ReservationRacePostgreSQLTest(base.PostgreSQLMixin, ReservationRaceTest):
    pass
