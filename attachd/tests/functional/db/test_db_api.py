"""The DB API on SQLite, PostgreSQL and MySQL: compare-and-swap, connector storage, status
recomputation, listing."""

from attachd import context
from attachd import exception
from attachd.db import api as db_api
from attachd.db import models
from attachd.objects import fields
from attachd.objects import volume as volume_obj
from attachd.objects import volume_attachment as attachment_obj
from attachd.tests import base

VolumeStatus = fields.VolumeStatus
AttachStatus = fields.VolumeAttachStatus
INSTANCE_A = '00000000-0000-0000-0000-00000000000a'
INSTANCE_B = '00000000-0000-0000-0000-00000000000b'


class DbApiTest(base.DbTestCase):
    def setUp(self):
        super().setUp()
        self.ctx = context.RequestContext(user_id='user', project_id='project')

    def _volume(self, status=VolumeStatus.AVAILABLE, multiattach=False, project='project'):
        volume = volume_obj.Volume(self.ctx, size=1, project_id=project, status=status,
                                   attach_status=AttachStatus.DETACHED,
                                   multiattach=multiattach, host='node@fake')
        volume.create()
        return volume

    def _status(self, volume):
        volume.refresh()
        return volume.status, volume.attach_status

    # compare-and-swap

    def test_conditional_update_matches_once(self):
        volume = self._volume()
        self.assertTrue(volume.conditional_update({'status': VolumeStatus.RESERVED},
                                                  {'status': VolumeStatus.AVAILABLE}))
        self.assertFalse(volume.conditional_update({'status': VolumeStatus.RESERVED},
                                                   {'status': VolumeStatus.AVAILABLE}))
        self.assertEqual(VolumeStatus.RESERVED, self._status(volume)[0])

    def test_conditional_update_with_list_of_expected_values(self):
        volume = self._volume(status=VolumeStatus.DOWNLOADING)
        self.assertTrue(db_api.conditional_update(
            self.ctx, models.Volume, volume.id, {'status': VolumeStatus.RESERVED},
            {'status': [VolumeStatus.AVAILABLE, VolumeStatus.DOWNLOADING]}))

    def test_conditional_update_reports_match_when_values_unchanged(self):
        volume = self._volume()
        self.assertTrue(db_api.conditional_update(
            self.ctx, models.Volume, volume.id, {'status': VolumeStatus.AVAILABLE},
            {'status': VolumeStatus.AVAILABLE}))

    def test_conditional_update_ignores_deleted_rows(self):
        volume = self._volume()
        volume.destroy()
        self.assertFalse(db_api.conditional_update(
            self.ctx, models.Volume, volume.id, {'status': VolumeStatus.ERROR}, {}))

    def test_connectors_by_volume_lists_live_connected_ones(self):
        volume = self._volume(multiattach=True)
        other = self._volume(multiattach=True)
        first, _reserved, second, gone = (
            attachment_obj.VolumeAttachment.reserve(self.ctx, volume.id, instance)
            for instance in (INSTANCE_A, INSTANCE_B, INSTANCE_A, INSTANCE_B))
        elsewhere = attachment_obj.VolumeAttachment.reserve(self.ctx, other.id, INSTANCE_A)
        connectors = {attachment.id: {'host': 'h%d' % i, 'multipath': bool(i % 2),
                                      'wwpns': ['50:0a'] * i}
                      for i, attachment in enumerate((first, second, gone, elsewhere))}
        for attachment in (first, second, gone, elsewhere):
            attachment.connected(connectors[attachment.id], {'driver_volume_type': 'fake'})
        gone.destroy()
        # (MySQL's timestamps have whole seconds: the order of equal ones is the ids'.)
        self.assertEqual({first.id: connectors[first.id], second.id: connectors[second.id]},
                         dict(attachment_obj.VolumeAttachmentList.connectors_by_volume(
                             self.ctx, volume.id)))

    def test_get_with_volume_reads_the_one_attachment_in_the_callers_project(self):
        volume = self._volume(multiattach=True)
        first, second = (attachment_obj.VolumeAttachment.reserve(self.ctx, volume.id, i)
                         for i in (INSTANCE_A, INSTANCE_B))
        attachment = attachment_obj.VolumeAttachment.get_with_volume(self.ctx, second.id)
        self.assertEqual((second.id, volume.id), (attachment.id, attachment.volume.id))
        row, volume_row = db_api.attachment_get_one_with_volume(self.ctx, second.id)
        self.assertEqual((second.id, volume.id), (row.id, volume_row.id))
        stranger = context.RequestContext(user_id='user', project_id='stranger')
        self.assertRaises(exception.VolumeAttachmentNotFound,
                          attachment_obj.VolumeAttachment.get_with_volume, stranger, first.id)
        first.destroy()
        self.assertRaises(exception.VolumeAttachmentNotFound,
                          attachment_obj.VolumeAttachment.get_with_volume, self.ctx, first.id)

    # reservation rules

    def test_reserve_error_volume_has_cinder_message(self):
        volume = self._volume(status=VolumeStatus.ERROR)
        exc = self.assertRaises(exception.InvalidVolume,
                                attachment_obj.VolumeAttachment.reserve, self.ctx, volume.id)
        self.assertIn('can not be created if the volume is in an error state', str(exc))

    def test_reserve_other_project_volume_is_not_found(self):
        volume = self._volume(project='other')
        self.assertRaises(exception.VolumeNotFound,
                          attachment_obj.VolumeAttachment.reserve, self.ctx, volume.id)

    def test_same_instance_override(self):
        volume = self._volume()
        first = attachment_obj.VolumeAttachment.reserve(self.ctx, volume.id, INSTANCE_A)
        first.connected({'host': 'h1'}, {'driver_volume_type': 'fake'})
        first.complete()
        second = attachment_obj.VolumeAttachment.reserve(self.ctx, volume.id, INSTANCE_A)
        self.assertEqual(AttachStatus.RESERVED, second.attach_status)
        self.assertEqual((VolumeStatus.IN_USE, AttachStatus.ATTACHED), self._status(volume))
        exc = self.assertRaises(exception.InvalidVolume,
                                attachment_obj.VolumeAttachment.reserve, self.ctx, volume.id,
                                INSTANCE_B)
        self.assertIn('must be available or downloading to reserve, but the current status '
                      'is in-use', str(exc))

    def test_override_not_from_creating(self):
        volume = self._volume(status=VolumeStatus.CREATING)
        self.assertRaises(exception.InvalidVolume,
                          attachment_obj.VolumeAttachment.reserve, self.ctx, volume.id,
                          INSTANCE_A)

    def test_multiattach_reserve_while_in_use_keeps_in_use(self):
        volume = self._volume(multiattach=True)
        first = attachment_obj.VolumeAttachment.reserve(self.ctx, volume.id, INSTANCE_A)
        first.connected({'host': 'h1'}, {'driver_volume_type': 'fake'})
        first.complete()
        attachment_obj.VolumeAttachment.reserve(self.ctx, volume.id, INSTANCE_B)
        self.assertEqual((VolumeStatus.IN_USE, AttachStatus.ATTACHED), self._status(volume))

    # connector storage

    def test_connector_round_trips_through_attachment_specs(self):
        volume = self._volume()
        attachment = attachment_obj.VolumeAttachment.reserve(self.ctx, volume.id, INSTANCE_A)
        connector = {
            'host': 'compute-1', 'initiator': 'iqn.1993-08.org.debian:01:abcdef',
            'wwpns': ['50014380186b3f6%d' % i for i in range(8)],
            'wwnns': ['50014380186b3f%02d' % i for i in range(8)],
            'multipath': False, 'platform': 'x86_64', 'do_local_attach': None,
            'k' * 600: 'v' * 5000, 'nested': {'a': [1, 2, {'b': True}]},
            "quote'; DROP TABLE volumes; --": '$(rm -rf /) `id`',
        }
        attachment.connected(connector, {'driver_volume_type': 'fake', 'data': {}})
        fresh = attachment_obj.VolumeAttachment.get_by_id(self.ctx, attachment.id)
        self.assertEqual(connector, fresh.connector)
        self.assertEqual(connector, fresh.specs)

    def test_reconnect_replaces_specs(self):
        volume = self._volume()
        attachment = attachment_obj.VolumeAttachment.reserve(self.ctx, volume.id, INSTANCE_A)
        attachment.connected({'host': 'a', 'initiator': 'iqn.a'}, {})
        attachment.connected({'host': 'b'}, {})
        self.assertEqual({'host': 'b'}, attachment.specs)
        self.assertEqual({'host': 'b'}, attachment.connector)

    # status recomputation

    def test_status_walks_the_attach_cycle(self):
        volume = self._volume()
        attachment = attachment_obj.VolumeAttachment.reserve(self.ctx, volume.id, INSTANCE_A)
        self.assertEqual((VolumeStatus.RESERVED, AttachStatus.RESERVED), self._status(volume))
        attachment.connected({'host': 'h1', 'mountpoint': '/dev/vdb'}, {'a': 1})
        self.assertEqual((VolumeStatus.ATTACHING, AttachStatus.ATTACHING),
                         self._status(volume))
        self.assertEqual('h1', attachment.attached_host)
        self.assertEqual('/dev/vdb', attachment.mountpoint)
        self.assertIsNotNone(attachment.attach_time)
        attachment.complete()
        self.assertEqual((VolumeStatus.IN_USE, AttachStatus.ATTACHED), self._status(volume))
        remaining = attachment.destroy()
        self.assertEqual([], remaining.objects)
        self.assertEqual((VolumeStatus.AVAILABLE, AttachStatus.DETACHED),
                         self._status(volume))
        self.assertRaises(exception.VolumeAttachmentNotFound, attachment.destroy)

    def test_delete_keeps_in_use_while_others_attached(self):
        volume = self._volume(multiattach=True)
        first = attachment_obj.VolumeAttachment.reserve(self.ctx, volume.id, INSTANCE_A)
        first.complete()
        second = attachment_obj.VolumeAttachment.reserve(self.ctx, volume.id, INSTANCE_B)
        second.complete()
        remaining = first.destroy()
        self.assertEqual([second.id], [a.id for a in remaining])
        self.assertEqual((VolumeStatus.IN_USE, AttachStatus.ATTACHED), self._status(volume))

    def test_delete_leaves_reserved_when_only_reservations_remain(self):
        volume = self._volume()
        first = attachment_obj.VolumeAttachment.reserve(self.ctx, volume.id, INSTANCE_A)
        first.complete()
        attachment_obj.VolumeAttachment.reserve(self.ctx, volume.id, INSTANCE_A)
        first.destroy()
        self.assertEqual((VolumeStatus.RESERVED, AttachStatus.RESERVED), self._status(volume))

    def test_migrating_volume_is_not_made_available(self):
        volume = self._volume()
        attachment = attachment_obj.VolumeAttachment.reserve(self.ctx, volume.id, INSTANCE_A)
        attachment.complete()
        volume.migration_status = 'migrating'
        volume.save()
        attachment.destroy()
        self.assertEqual((VolumeStatus.IN_USE, AttachStatus.DETACHED), self._status(volume))

    def test_volume_delete_refused_while_attached(self):
        volume = self._volume()
        attachment_obj.VolumeAttachment.reserve(self.ctx, volume.id, INSTANCE_A)
        volume.conditional_update({'status': VolumeStatus.AVAILABLE}, {})
        self.assertRaises(exception.InvalidVolume, volume.begin_delete)
        volume.refresh()
        self.assertEqual(VolumeStatus.AVAILABLE, volume.status)

    # listing

    def test_list_is_scoped_filtered_and_paginated(self):
        mine = self._volume(multiattach=True)
        theirs = self._volume(project='other')
        ids = [attachment_obj.VolumeAttachment.reserve(self.ctx, mine.id,
                                                       '00000000-0000-0000-0000-%012d' % i).id
               for i in range(5)]
        admin = self.ctx.elevated()
        attachment_obj.VolumeAttachment.reserve(admin, theirs.id, INSTANCE_A)
        listing = attachment_obj.VolumeAttachmentList.get_all(self.ctx)
        self.assertEqual(sorted(ids), sorted(a.id for a in listing))
        self.assertEqual(6, len(attachment_obj.VolumeAttachmentList.get_all(admin)))
        self.assertEqual(1, len(attachment_obj.VolumeAttachmentList.get_all(
            admin, project_id='other')))
        by_status = attachment_obj.VolumeAttachmentList.get_all(
            self.ctx, filters={'status': AttachStatus.RESERVED})
        self.assertEqual(5, len(by_status))
        by_instance = attachment_obj.VolumeAttachmentList.get_all(
            self.ctx, filters={'instance_id': '00000000-0000-0000-0000-%012d' % 3})
        self.assertEqual([ids[3]], [a.id for a in by_instance])
        pages, marker = [], None
        while True:
            page = attachment_obj.VolumeAttachmentList.get_all(self.ctx, limit=2,
                                                               marker=marker)
            if not page:
                break
            pages.append([a.id for a in page])
            marker = page[-1].id
        self.assertEqual([2, 2, 1], [len(p) for p in pages])
        self.assertEqual(sorted(ids), sorted(sum(pages, [])))
        self.assertRaises(exception.MarkerNotFound,
                          attachment_obj.VolumeAttachmentList.get_all, self.ctx,
                          marker='00000000-0000-0000-0000-000000000999')

    def test_other_project_attachment_is_not_found(self):
        theirs = self._volume(project='other')
        attachment = attachment_obj.VolumeAttachment.reserve(self.ctx.elevated(), theirs.id)
        self.assertRaises(exception.VolumeAttachmentNotFound,
                          attachment_obj.VolumeAttachment.get_by_id, self.ctx, attachment.id)


class DbApiMySQLTest(base.MySQLMixin, DbApiTest):
    pass


class DbApiPostgreSQLTest(base.PostgreSQLMixin, DbApiTest):
    pass
