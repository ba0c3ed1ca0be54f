"""Retries and abandoned reservations, through the HTTP API on three databases.

Nova repeats update and delete when cinder-api answers 500 or 504 (spec 6.1, Nova bugs
1970642/1978444): the first attempt may have done all its work before the answer was lost.
Every repeat must be harmless. Reservations nobody completes are reclaimed by the
manager's periodic task, and never those of Nova's shelved-offloaded servers.
"""

import datetime
import time

import fixtures
import oslo_messaging as messaging
from oslo_messaging.notify import _impl_test as test_notifier
from oslo_utils import timeutils

from attachd import notifications
from attachd.common import rpc
from attachd.drivers import fake
from attachd.manager import service as manager_service
from attachd.tests import base
from attachd.tests.functional import fixtures as api_fixtures
from attachd.tests.functional.reliability import base as rbase


class RetryTest(rbase.ApiTestCase):

    def setUp(self):
        super().setUp()
        self.vol = self.volume()

    def _reserved(self, volume_id=None, inst=1):
        response = self.nova.create(volume_id or self.vol.id, rbase.instance(inst))
        self.assertEqual(200, response.status, response)
        return response.json['attachment']['id']

    def _answer_lost(self, method):
        """The manager does ``method``'s work, then the API's wait for the answer times
        out (a slow broker, a manager restarted just after): the caller sees 504."""
        original = rpc.LocalClient.call

        def call(client, ctxt, name, **kwargs):
            result = original(client, ctxt, name, **kwargs)
            if name == method and not lost:
                lost.append(name)
                raise messaging.MessagingTimeout('answer lost')
            return result

        lost = []
        self.useFixture(fixtures.MockPatchObject(rpc.LocalClient, 'call', call))
        return lost

    def test_update_twice_with_the_same_connector(self):
        attachment_id = self._reserved()
        first = self.nova.update(attachment_id, rbase.connector(1))
        second = self.nova.update(attachment_id, rbase.connector(1))
        self.assertEqual(200, second.status, second)
        self.assertEqual(first.json['attachment']['connection_info'],
                         second.json['attachment']['connection_info'])
        self.assertEqual([self.vol.id], self.api.driver.list_exports())
        self.assertEqual({'iqn.2026-01.org.example:compute1'},
                         self.api.driver.connections[self.vol.id])
        volume, live = self.assertConsistent(self.vol.id)
        self.assertEqual(1, len(live))

    def test_delete_twice_is_404_and_changes_nothing(self):
        volume = self.volume(multiattach=True)
        keep = self._reserved(volume.id, 1)
        self.assertEqual(200, self.nova.update(keep, rbase.connector(1)).status)
        gone = self._reserved(volume.id, 2)
        self.assertEqual(200, self.nova.update(gone, rbase.connector(2)).status)
        self.assertEqual(200, self.nova.remove(gone).status)
        before = (self.reload(volume.id).status,
                  [(a.id, a.attach_status) for a in self.live_attachments(volume.id)],
                  set(self.api.driver.connections[volume.id]))
        self.assertFault(self.nova.remove(gone), 404)
        after = (self.reload(volume.id).status,
                 [(a.id, a.attach_status) for a in self.live_attachments(volume.id)],
                 set(self.api.driver.connections[volume.id]))
        self.assertEqual(before, after)
        self.assertEqual(1, len([r for r in self.all_attachment_rows(volume.id)
                                 if r.id == gone]))
        self.assertConsistent(volume.id)

    def test_update_retried_after_a_lost_answer(self):
        attachment_id = self._reserved()
        lost = self._answer_lost('attachment_update')
        first = self.nova.update(attachment_id, rbase.connector(1))
        self.assertFault(first, 504)
        self.assertEqual(['attachment_update'], lost)
        retry = self.nova.update(attachment_id, rbase.connector(1))
        self.assertEqual(200, retry.status, retry)
        self.assertEqual(attachment_id, retry.json['attachment']['connection_info'][
            'attachment_id'])
        self.assertEqual(204, self.nova.complete(attachment_id).status)
        volume, live = self.assertConsistent(self.vol.id)
        self.assertEqual('in-use', volume.status)
        self.assertEqual(1, len(live))

    def test_create_with_connector_whose_answer_was_lost(self):
        """The manager connected the new attachment but the API timed out (504): the
        rolled-back reservation must take the host's access with it."""
        lost = self._answer_lost('attachment_update')
        response = self.nova.create(self.vol.id, rbase.instance(1), rbase.connector(1))
        self.assertFault(response, 504)
        self.assertEqual(['attachment_update'], lost)
        self.assertEqual([], self.live_attachments(self.vol.id))
        volume, _live = self.assertConsistent(self.vol.id)
        self.assertEqual('available', volume.status)
        self.assertEqual([], self.api.driver.list_exports())
        # Nova's retry works.
        self.assertEqual(200, self.nova.create(self.vol.id, rbase.instance(1),
                                               rbase.connector(1)).status)
        self.assertConsistent(self.vol.id)

    def test_delete_retried_after_a_lost_answer(self):
        attachment_id = self._reserved()
        self.assertEqual(200, self.nova.update(attachment_id, rbase.connector(1)).status)
        self.assertEqual(204, self.nova.complete(attachment_id).status)
        lost = self._answer_lost('attachment_delete')
        self.assertFault(self.nova.remove(attachment_id), 504)
        self.assertEqual(['attachment_delete'], lost)
        # The backend revoked, the row is still there; the retry finishes the job.
        self.assertEqual(1, len(self.live_attachments(self.vol.id)))
        retry = self.nova.remove(attachment_id)
        self.assertEqual(200, retry.status, retry)
        self.assertEqual([], retry.json['attachments'])
        volume, _live = self.assertConsistent(self.vol.id)
        self.assertEqual('available', volume.status)
        # Nova ignores 404 on a further retry.
        self.assertFault(self.nova.remove(attachment_id), 404)

    def test_update_retried_after_a_backend_500(self):
        attachment_id = self._reserved()
        original = fake.FakeDriver.initialize_connection
        failures = []

        def flaky(driver, volume, connector, attachment):
            if not failures:
                failures.append(1)
                raise RuntimeError('backend hiccup')
            return original(driver, volume, connector, attachment)

        self.useFixture(fixtures.MockPatchObject(fake.FakeDriver, 'initialize_connection',
                                                 flaky))
        self.assertFault(self.nova.update(attachment_id, rbase.connector(1)), 500)
        self.assertEqual('reserved', self.live_attachments(self.vol.id)[0].attach_status)
        self.assertConsistent(self.vol.id)
        self.assertEqual(200, self.nova.update(attachment_id, rbase.connector(1)).status)
        self.assertConsistent(self.vol.id)


class RetryMySQLTest(base.MySQLMixin, RetryTest):
    pass


class RetryPostgreSQLTest(base.PostgreSQLMixin, RetryTest):
    pass


class ReclaimTest(rbase.ApiTestCase):
    """The manager service's own periodic task, not a direct call."""

    def setUp(self):
        super().setUp()
        self.flags(reservation_timeout=2, reclaim_interval=1, group='attachments')
        self.flags(report_interval=1, group='manager')
        notifications.reset()
        notifications.get_notifier()
        self.flags(driver=['test'], group='oslo_messaging_notifications')
        test_notifier.reset()
        self.notified = test_notifier.NOTIFICATIONS
        self.addCleanup(notifications.reset)
        # The fixture's manager answers RPC; this service runs the periodic task.
        rpc.unregister_local_manager(api_fixtures.SERVER)
        self.service = manager_service.ManagerService(
            api_fixtures.BACKEND, host=api_fixtures.HOST,
            driver=self.api.driver).start()
        self.addCleanup(self.service.stop)

    def _backdate(self, attachment_id, seconds):
        base.backdate_attachment(self.admin_ctx, attachment_id, seconds)

    def test_abandoned_reservation_reclaimed_shelved_offloaded_kept(self):
        abandoned_vol = self.volume()
        abandoned = self.nova.create(abandoned_vol.id, rbase.instance(1)).json[
            'attachment']['id']
        # Nova's attach to a shelved-offloaded server: reserve + complete, no connector.
        shelved_vol = self.volume()
        shelved = self.nova.create(shelved_vol.id, rbase.instance(2)).json[
            'attachment']['id']
        self.assertEqual(204, self.nova.complete(shelved).status)
        connected_vol = self.volume()
        connected = self.nova.create(connected_vol.id, rbase.instance(3),
                                     rbase.connector(3)).json['attachment']['id']
        for attachment_id in (abandoned, shelved, connected):
            self._backdate(attachment_id, 3600)

        rbase.wait_for(lambda: not self.live_attachments(abandoned_vol.id), timeout=20)

        self.assertFault(self.nova.get('/attachments/%s' % abandoned), 404)
        volume, _live = self.assertConsistent(abandoned_vol.id)
        self.assertEqual('available', volume.status)
        for attachment_id, volume_id, status in ((shelved, shelved_vol.id, 'in-use'),
                                                 (connected, connected_vol.id,
                                                  'attaching')):
            self.assertEqual(200, self.nova.get('/attachments/%s' % attachment_id).status)
            self.assertEqual(status, self.reload(volume_id).status)
        deleted = [m['payload']['attachment_id'] for _c, m, _p, _r in self.notified
                   if m['event_type'] == notifications.ATTACHMENT_DELETE]
        self.assertEqual([abandoned], deleted)
        end = [m for _c, m, _p, _r in self.notified
               if m['event_type'] == notifications.VOLUME_DETACH_END]
        self.assertEqual('available', end[-1]['payload']['status'])
        # The API still works on a reclaimed volume: a new reservation.
        self.assertEqual(200, self.nova.create(abandoned_vol.id, rbase.instance(4)).status)

    def test_a_fresh_reservation_is_kept(self):
        # A run or two of the reclaimer (every second) before its two-second timeout. On
        # MySQL the reservation's time is stored in whole seconds: the reclaimer must not
        # take it for older than it is. Only a reservation read before it was 2 s old
        # proves anything (a loaded machine can stall this thread that long): a stalled
        # attempt is made again.
        for instance in range(1, 4):
            volume = self.volume()
            asked_at = time.monotonic()
            attachment_id = self.nova.create(volume.id, rbase.instance(instance)).json[
                'attachment']['id']
            time.sleep(1.5)
            status = self.nova.get('/attachments/%s' % attachment_id).status
            volume_status = self.reload(volume.id).status
            if time.monotonic() - asked_at < 2:
                self.assertEqual(200, status)
                self.assertEqual('reserved', volume_status)
                return
        self.fail('three attempts each took longer than the reservation timeout')

    def test_the_timeout_is_counted_in_whole_seconds_of_age(self):
        # MySQL stores whole seconds: a reservation made at x.9 s reads back as made at
        # x s, 0.9 s older than it is.
        timeutils.set_time_override(datetime.datetime(2026, 1, 1, 12, 0, 0, 900000))
        self.addCleanup(timeutils.clear_time_override)
        volume = self.volume()
        attachment_id = self.nova.create(volume.id, rbase.instance(1)).json[
            'attachment']['id']
        path = '/attachments/%s' % attachment_id
        timeutils.advance_time_seconds(1.5)
        self.service.manager.reclaim_reservations(self.admin_ctx)
        self.assertEqual(200, self.nova.get(path).status)
        timeutils.advance_time_seconds(1.5)
        self.service.manager.reclaim_reservations(self.admin_ctx)
        self.assertFault(self.nova.get(path), 404)


class ReclaimPostgreSQLTest(base.PostgreSQLMixin, ReclaimTest):
    pass


class ReclaimMySQLTest(base.MySQLMixin, ReclaimTest):
    pass
