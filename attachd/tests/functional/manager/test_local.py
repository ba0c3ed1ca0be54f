"""The manager behind the in-process RPC path (the embedded mode), on SQLite."""

import datetime

import fixtures
from oslo_utils import timeutils

from attachd import exception
from attachd import notifications
from attachd.common import rpc
from attachd.db import api as db_api
from attachd.drivers import base as base_driver
from attachd.drivers import fake
from attachd.manager import rpcapi
from attachd.manager import service
from attachd.objects import fence as fence_obj
from attachd.objects import service as service_obj
from attachd.tests import base
from attachd.tests.functional.manager import base as mbase
from attachd.volume import attach
from attachd.volume import clients
from attachd.volume import fencing

VolumeStatus = mbase.VolumeStatus
AttachStatus = mbase.AttachStatus


class FlakyDriver(fake.FakeDriver):
    """The fake driver, with connect failing while ``fail`` is set."""

    fail = False

    def initialize_connection(self, volume, connector, attachment_id):
        if self.fail:
            raise RuntimeError('backend on fire')
        return super().initialize_connection(volume, connector, attachment_id)


class LocalManagerTest(mbase.ManagerTestMixin, base.DbTestCase):

    def setUp(self):
        super().setUp()
        self.driver = FlakyDriver(self.conf, 'fake')
        self.svc = self.start_manager('fake', driver=self.driver)

    def test_service_row_registered_with_capabilities(self):
        row = service_obj.Service.get_by_args(self.admin, self.host, rpcapi.BINARY, 'fake')
        self.assertTrue(row.is_up)
        self.assertEqual('fake', row.capabilities['protocol'])
        self.assertEqual(rpcapi.RPC_API_VERSION, row.rpc_version)

    def test_restart_reuses_the_service_row(self):
        first = service_obj.Service.get_by_args(self.admin, self.host, rpcapi.BINARY,
                                                'fake')
        self._stop(self.svc)
        self.start_manager('fake', driver=self.driver)
        rows = service_obj.ServiceList.get_all(self.admin, rpcapi.BINARY, 'fake')
        self.assertEqual([first.uuid], [r.uuid for r in rows])

    def test_a_start_that_cannot_register_stops_serving(self):
        # It serves before it writes its row (attachd.manager.service): a failed write
        # must not leave a server answering for a manager that never started.
        self._stop(self.svc)
        self.useFixture(fixtures.MockPatchObject(
            service.ManagerService, '_register',
            side_effect=exception.DatabaseUnavailable()))
        svc = service.ManagerService('fake', host=self.host, driver=self.driver)
        self.assertRaises(exception.DatabaseUnavailable, svc.start)
        self.assertIsNone(svc.rpc_server)
        self.assertFalse(rpc.is_local_manager('%s@fake' % self.host))

    def test_create_and_delete_volume(self):
        volume = self.volume(status=VolumeStatus.CREATING)
        self.api().create_volume(self.ctx, volume)
        mbase.wait_for(lambda: self.reload(volume).status == VolumeStatus.AVAILABLE)
        self.assertEqual('fake:%s' % volume.id, self.reload(volume).provider_location)
        volume = self.reload(volume)
        volume.begin_delete()
        self.api().delete_volume(self.ctx, volume)

        def gone():
            try:
                self.reload(volume)
            except exception.VolumeNotFound:
                return True
        mbase.wait_for(gone)

    def test_lost_requests_are_finished_once(self):
        """The periodic task finishes volumes left creating/deleting for longer than
        [manager] recover_after, not younger ones; a request that arrives after its
        volume was finished does nothing."""
        self.flags(recover_after=60, group='manager')
        svc = self.svc
        lost, young = (self.volume(status=VolumeStatus.CREATING) for _i in range(2))
        doomed = self.volume(status=VolumeStatus.DELETING)
        for volume in (lost, doomed):
            db_api.volume_update(self.admin, volume.id, {
                'updated_at': db_api.utcnow() - datetime.timedelta(seconds=61)})
        driver = svc.manager.driver
        created = fixtures.MockPatchObject(driver, 'create_volume',
                                           wraps=driver.create_volume)
        deleted = fixtures.MockPatchObject(driver, 'delete_volume',
                                           wraps=driver.delete_volume)
        self.useFixture(created)
        self.useFixture(deleted)
        svc._periodic_tasks()
        self.assertEqual(VolumeStatus.AVAILABLE, self.reload(lost).status)
        self.assertEqual(VolumeStatus.CREATING, self.reload(young).status)
        self.assertRaises(exception.VolumeNotFound, self.reload, doomed)
        self.assertEqual(1, created.mock.call_count)
        self.assertEqual(1, deleted.mock.call_count)
        # Their messages arrive after all (the objects as the API sent them).
        self.api().create_volume(self.ctx, lost)
        self.api().delete_volume(self.ctx, doomed)
        self.api().create_volume(self.ctx, young)
        self.assertTrue(mbase.wait_for(
            lambda: self.reload(young).status == VolumeStatus.AVAILABLE))
        self.assertEqual(2, created.mock.call_count)
        self.assertEqual(1, deleted.mock.call_count)
        self.assertEqual(VolumeStatus.AVAILABLE, self.reload(lost).status)

    def test_recovery_of_a_create_the_driver_refuses_ends_in_error(self):
        """Storage half made by a killed manager: the driver refuses to create it again,
        and the volume ends error (its owner may delete it) instead of creating."""
        volume = self.volume(status=VolumeStatus.CREATING)
        self.useFixture(fixtures.MockPatchObject(
            self.svc.manager.driver, 'create_volume',
            side_effect=exception.DriverError(reason='volume file exists')))
        self.assertEqual([volume.id], self.svc.manager.recover(self.admin))
        self.assertEqual(VolumeStatus.ERROR, self.reload(volume).status)

    def test_update_connects_and_notifies(self):
        volume = self.volume()
        attachment = self.reserve(volume)
        info = self.api().attachment_update(self.ctx, volume, attachment,
                                            mbase.connector()).connection_info
        self.assertEqual('fake', info['driver_volume_type'])
        self.assertEqual(attachment.id, info['attachment_id'])
        self.assertEqual('rw', info['access_mode'])
        stored = self.attachment(attachment.id)
        self.assertEqual(AttachStatus.ATTACHING, stored.attach_status)
        self.assertEqual('compute1', stored.connector['host'])
        self.assertEqual(VolumeStatus.ATTACHING, self.reload(volume).status)
        self.assertEqual([volume.id], self.driver.list_exports())
        for event in (notifications.VOLUME_ATTACH_START, notifications.ATTACHMENT_UPDATE):
            sent = self.notifications(event)
            self.assertEqual(1, len(sent), event)
            self.assertEqual(volume.id, sent[0]['payload']['volume_id'])
            self.assertEqual(attachment.id, sent[0]['payload']['attachment_id'])
            self.assertEqual('volume.%s' % self.host, sent[0]['publisher_id'])

    def test_a_fenced_host_is_refused_before_the_backend_is_touched(self):
        volume = self.volume()
        attachment = self.reserve(volume)
        # The fence row alone (the API writes it first): the manager's own check is tested.
        fence_obj.Fence.create(self.ctx, mbase.connector()['host'])
        self.useFixture(fixtures.MockPatchObject(self.driver, 'create_export'))
        self.useFixture(fixtures.MockPatchObject(self.driver, 'initialize_connection'))
        self.assertRaises(exception.HostFenced, self.api().attachment_update, self.ctx,
                          volume, attachment, mbase.connector())
        self.driver.create_export.assert_not_called()
        self.driver.initialize_connection.assert_not_called()
        self.assertEqual([], self.notifications(notifications.VOLUME_ATTACH_START))
        # Another host is still served.
        other = dict(mbase.connector(), host='compute9', initiator='iqn.1993-08.org.x:9')
        self.driver.initialize_connection.side_effect = (
            lambda *args: fake.FakeDriver.initialize_connection(self.driver, *args))
        self.api().attachment_update(self.ctx, volume, attachment, other)
        self.driver.create_export.assert_called_once()

    def test_delete_revokes_and_removes_the_export_of_the_last(self):
        volume = self.volume(multiattach=True)
        first = self.reserve(volume, mbase.INSTANCE_A)
        second = self.reserve(volume, mbase.INSTANCE_B)
        self.api().attachment_update(self.ctx, volume, first, mbase.connector())
        self.api().attachment_update(self.ctx, volume, second, mbase.connector())
        first = self.attachment(first.id)
        # Same host: the connection is shared, the export stays.
        self.assertTrue(self.api().attachment_delete(self.ctx, volume, first))
        first.destroy()
        self.assertEqual([volume.id], self.driver.list_exports())
        second = self.attachment(second.id)
        self.assertFalse(self.api().attachment_delete(self.ctx, volume, second))
        second.destroy()
        self.assertEqual([], self.driver.list_exports())
        self.assertEqual(VolumeStatus.AVAILABLE, self.reload(volume).status)
        self.assertEqual(2, len(self.notifications(notifications.VOLUME_DETACH_START)))

    def test_driver_failure_leaves_state_and_retry_succeeds(self):
        volume = self.volume()
        attachment = self.reserve(volume)
        self.driver.fail = True
        exc = self.assertRaises(exception.DriverError, self.api().attachment_update,
                                self.ctx, volume, attachment, mbase.connector())
        self.assertIn('Connecting of volume %s failed' % volume.id, str(exc))
        self.assertNotIn('on fire', str(exc))
        stored = self.attachment(attachment.id)
        self.assertEqual(AttachStatus.RESERVED, stored.attach_status)
        self.assertIsNone(stored.connector)
        self.assertIsNone(stored.connection_info)
        self.assertEqual(VolumeStatus.RESERVED, self.reload(volume).status)
        self.assertEqual([], self.driver.list_exports())
        self.assertEqual({}, {k: v for k, v in self.driver.connections.items() if v})

        self.driver.fail = False
        info = self.api().attachment_update(self.ctx, volume, attachment,
                                            mbase.connector()).connection_info
        self.assertEqual(attachment.id, info['attachment_id'])
        self.assertEqual(VolumeStatus.ATTACHING, self.reload(volume).status)

    def test_failure_of_a_second_host_keeps_the_first_connected(self):
        volume = self.volume(multiattach=True)
        first = self.reserve(volume, mbase.INSTANCE_A)
        second = self.reserve(volume, mbase.INSTANCE_B)
        self.api().attachment_update(self.ctx, volume, first, mbase.connector())
        self.driver.fail = True
        other_host = mbase.connector('compute2', 'iqn.2026-01.org.example:compute2')
        self.assertRaises(exception.DriverError, self.api().attachment_update,
                          self.ctx, volume, second, other_host)
        self.assertEqual([volume.id], self.driver.list_exports())
        self.assertEqual({'iqn.2026-01.org.example:compute1'},
                         self.driver.connections[volume.id])

    def test_invalid_connector_is_a_400(self):
        volume = self.volume()
        attachment = self.reserve(volume)

        def reject(connector):
            raise ValueError('no initiator')
        self.driver.validate_connector = reject
        exc = self.assertRaises(exception.InvalidConnector, self.api().attachment_update,
                                self.ctx, volume, attachment, mbase.connector())
        self.assertEqual(400, exc.code)
        self.assertEqual([], self.driver.list_exports())

    def test_no_service_row_is_503_at_once(self):
        volume = self.volume(backend='elsewhere')
        attachment = self.reserve(volume)
        with timeutils.StopWatch() as watch:
            exc = self.assertRaises(exception.ManagerUnavailable,
                                    self.api().attachment_update, self.ctx, volume,
                                    attachment, mbase.connector())
        self.assertEqual(503, exc.code)
        self.assertLess(watch.elapsed(), 1)

    #: Whether the API judges this manager by its heartbeat: over a broker it does; the
    #: in-process manager of the embedded mode is alive while it is registered.
    heartbeat_decides = False

    def test_stale_heartbeat(self):
        self.flags(service_down_time=5, group='manager')
        volume = self.volume()
        attachment = self.reserve(volume)
        row = service_obj.Service.get_by_args(self.admin, self.host, rpcapi.BINARY, 'fake')
        db_api.service_update(self.admin, row.id, {
            'heartbeat_at': db_api.utcnow() - datetime.timedelta(seconds=60)})
        if self.heartbeat_decides:
            self.assertRaises(exception.ManagerUnavailable, self.api().attachment_update,
                              self.ctx, volume, attachment, mbase.connector())
            # The heartbeat brings it back.
            row.heartbeat()
        # A starved heartbeat thread (a loaded attachd-all) does not make the API refuse
        # its own manager.
        self.api().attachment_update(self.ctx, volume, attachment, mbase.connector())

    def test_heartbeat_thread_updates_the_row(self):
        self._stop(self.svc)
        self.flags(report_interval=1, group='manager')
        self.start_manager('fake', driver=self.driver)

        def count():
            return service_obj.Service.get_by_args(self.admin, self.host, rpcapi.BINARY,
                                                   'fake').report_count
        before = count()
        mbase.wait_for(lambda: count() > before, timeout=5)

    def test_version_cap(self):
        self.flags(rpc_version_cap='1.0', group='manager')
        api = self.api()
        self.assertTrue(api.client.can_send_version('1.0'))
        self.assertFalse(api.client.can_send_version('1.1'))

    def _attach_api_uses_this_transport(self):
        # attach keeps one client per process; this suite's transport differs per class.
        api = self.api()
        self.useFixture(fixtures.MockPatchObject(clients, 'manager_api', lambda: api))

    def test_managers_pinned_below_1_2_refuse_updates_but_delete(self):
        # attachment_update exists at 1.2 only (its 1.0 form never shipped): under a lower
        # cap the API refuses it before anything is sent; 1.0 methods still go out at 1.0.
        self._attach_api_uses_this_transport()
        volume = self.volume()
        attachment = self.reserve(volume)
        recorded = attach.connect(self.ctx, volume, attachment, mbase.connector())
        self.flags(rpc_version_cap='1.1', group='manager')
        self._attach_api_uses_this_transport()
        exc = self.assertRaises(exception.ManagerTooOld, attach.connect, self.ctx, volume,
                                recorded, mbase.connector('compute2'))
        self.assertEqual(503, exc.code)
        self.assertEqual('compute1', self.attachment(attachment.id).attached_host)
        attach.delete(self.ctx, volume, recorded)
        self.assertEqual(VolumeStatus.AVAILABLE, self.reload(volume).status)

    def test_update_answers_the_recorded_attachment_without_its_volume(self):
        volume = self.volume()
        attachment = self.reserve(volume)
        attachment.volume = volume
        recorded = self.api().attachment_update(self.ctx, volume, attachment,
                                                mbase.connector())
        stored = self.attachment(attachment.id)
        self.assertFalse(recorded.obj_attr_is_set('volume'))
        for name in ('attach_status', 'attached_host', 'mountpoint', 'attach_time',
                     'attach_mode', 'connector', 'connection_info'):
            self.assertEqual(getattr(stored, name), getattr(recorded, name), name)
        # The caller's object keeps its volume.
        self.assertTrue(attachment.obj_attr_is_set('volume'))

    def _backdate(self, attachment_id, seconds):
        base.backdate_attachment(self.admin, attachment_id, seconds)

    def test_reclaimer_deletes_abandoned_reservations_only(self):
        self.flags(reservation_timeout=60, group='attachments')
        abandoned_vol = self.volume()
        abandoned = self.reserve(abandoned_vol)
        connected_vol = self.volume()
        connected = self.reserve(connected_vol)
        self.api().attachment_update(self.ctx, connected_vol, connected, mbase.connector())
        fresh_vol = self.volume()
        fresh = self.reserve(fresh_vol)
        other_backend_vol = self.volume(backend='other')
        other = self.reserve(other_backend_vol)
        for attachment in (abandoned, connected, other):
            self._backdate(attachment.id, 120)

        reclaimed = self.svc.manager.reclaim_reservations(self.admin)

        self.assertEqual([abandoned.id], reclaimed)
        self.assertRaises(exception.VolumeAttachmentNotFound, self.attachment, abandoned.id)
        self.assertEqual(VolumeStatus.AVAILABLE, self.reload(abandoned_vol).status)
        for attachment in (connected, fresh, other):
            self.attachment(attachment.id)
        self.assertEqual(VolumeStatus.RESERVED, self.reload(fresh_vol).status)
        deleted = self.notifications(notifications.ATTACHMENT_DELETE)
        self.assertEqual([abandoned.id], [n['payload']['attachment_id'] for n in deleted])
        end = self.notifications(notifications.VOLUME_DETACH_END)
        self.assertEqual('available', end[0]['payload']['status'])

    def test_reclaimer_off_by_default(self):
        volume = self.volume()
        attachment = self.reserve(volume)
        self._backdate(attachment.id, 10 ** 6)
        self.assertEqual([], self.svc.manager.reclaim_reservations(self.admin))

    def test_reclaim_loses_to_a_concurrent_update(self):
        self.flags(reservation_timeout=60, group='attachments')
        volume = self.volume()
        attachment = self.reserve(volume)
        self._backdate(attachment.id, 120)
        older_than = db_api.utcnow() - datetime.timedelta(seconds=60)
        # Connected between the reclaimer's query and its delete.
        self.api().attachment_update(self.ctx, volume, attachment, mbase.connector())
        self.assertFalse(attachment.reclaim(older_than))
        self.attachment(attachment.id)

    def test_start_reconciles_exports(self):
        attached = self.volume()
        attachment = self.reserve(attached)
        self.api().attachment_update(self.ctx, attached, attachment, mbase.connector())
        orphan = self.volume()
        orphan_attachment = self.reserve(orphan)
        self.driver.create_export(orphan, mbase.connector())
        self.assertEqual(sorted([attached.id, orphan.id]), self.driver.list_exports())
        self._stop(self.svc)
        # The backend lost everything (tgtd restarted) and kept an export nobody owns.
        fresh = FlakyDriver(self.conf, 'fake')
        fresh.create_export(orphan, mbase.connector())
        self.start_manager('fake', driver=fresh)
        self.assertEqual([attached.id], fresh.list_exports())
        self.assertEqual({'iqn.2026-01.org.example:compute1'}, fresh.connections[attached.id])
        # The reservation itself is untouched.
        self.assertEqual(AttachStatus.RESERVED,
                         self.attachment(orphan_attachment.id).attach_status)


class FenceWithAManagerDownTest(mbase.ManagerTestMixin, base.DbTestCase):
    """POST /fences while a manager that placed volumes is down: what it answers depends
    on whether another manager could reach those volumes."""

    def setUp(self):
        super().setUp()
        # One backend two managers may share (a cluster's shared storage).
        self.driver = fake.FakeDriver(self.conf, 'fake')

    def start_node(self, node):
        return self.start_manager(driver=self.driver, host=node)

    def attach_on_compute1(self, node, cluster_name=None):
        volume = self.volume(host=node, cluster_name=cluster_name)
        attachment, _info = self.attach(volume, mbase.connector())
        self.assertIn(base_driver.connection_key(mbase.connector()),
                      self.driver.connections[volume.id])
        return volume, attachment

    def test_a_live_member_of_the_cluster_completes_the_fence(self):
        self.flags(cluster='cluster1')
        node_a = self.start_node('node-a')
        self.start_node('node-b')
        volume, attachment = self.attach_on_compute1('node-a', 'cluster1@fake')
        # node-a goes down: its service row is marked down and it no longer answers.
        self._stop(node_a)

        fence = fencing.fence(self.admin, 'compute1')

        self.assertEqual([attachment.id], fence.attachments)
        self.assertEqual(AttachStatus.FENCED, self.attachment(attachment.id).attach_status)
        self.assertEqual(set(), self.driver.connections.get(volume.id, set()))
        self.assertEqual(VolumeStatus.AVAILABLE, self.reload(volume).status)

    def test_a_manager_down_alone_leaves_the_fence_incomplete_until_it_is_back(self):
        node_a = self.start_node('node-a')
        self.start_node('node-b')
        volume, attachment = self.attach_on_compute1('node-a')
        self._stop(node_a)

        exc = self.assertRaises(exception.FenceIncomplete, fencing.fence, self.admin,
                                'compute1')
        self.assertEqual(503, exc.code)
        self.assertIn('node-a@fake', str(exc))
        self.assertNotIn('node-b@fake', str(exc))
        # The fence stands: no new connection for the host, whatever the backend.
        self.assertTrue(fence_obj.Fence.get_by_host(self.admin, 'compute1'))
        # Nobody could revoke that connection: it is still there, and not called fenced.
        self.assertIn(base_driver.connection_key(mbase.connector()),
                      self.driver.connections[volume.id])
        self.assertEqual(AttachStatus.ATTACHED, self.attachment(attachment.id).attach_status)

        self.start_node('node-a')
        fence = fencing.fence(self.admin, 'compute1')
        self.assertEqual([attachment.id], fence.attachments)
        self.assertEqual(set(), self.driver.connections.get(volume.id, set()))
