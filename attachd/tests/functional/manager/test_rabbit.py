"""The manager over a real RabbitMQ (oslo.messaging's rabbit driver on 127.0.0.1:5672).

Every behaviour of the in-process tests is run again over the broker, plus what only a
broker shows: timeouts, and versions the server does not speak.
"""

import threading
import time
import uuid

import fixtures
import oslo_messaging as messaging
from oslo_utils import timeutils

from attachd import exception
from attachd.common import rpc
from attachd.manager import rpcapi
from attachd.objects import service as service_obj
from attachd.tests import base
from attachd.tests.functional.manager import base as mbase
from attachd.tests.functional.manager import test_local


class RabbitMixin:

    def configure(self):
        base.need_rabbit(self)
        # A node name of its own: parallel tests must not share server queues.
        self.host = 'rpc-%s' % uuid.uuid4().hex[:12]
        self.flags(host=self.host)
        self.flags(transport_url=base.RABBIT_URL)
        self.flags(rpc_response_timeout_api=10)


class RabbitManagerTest(RabbitMixin, test_local.LocalManagerTest):
    """The in-process suite, over RabbitMQ."""

    heartbeat_decides = True

    def test_goes_over_the_broker(self):
        self.assertIsInstance(self.api().client, messaging.RPCClient)
        self.assertIsNotNone(self.svc.rpc_server)
        self.assertEqual([], list(rpc._local_managers))

    def test_errors_keep_their_class_across_the_broker(self):
        volume = self.volume()
        attachment = self.reserve(volume)
        self.driver.fail = True
        exc = self.assertRaises(exception.DriverError, self.api().attachment_update,
                                self.ctx, volume, attachment, mbase.connector())
        self.assertEqual(500, exc.code)
        self.assertIn('Connecting of volume %s failed' % volume.id, str(exc))

    def test_a_cast_sent_once_the_row_is_up_is_served(self):
        # On a first start the server queue is new: a row written before the server
        # declared it let the API send casts that the broker dropped.
        self._stop(self.svc)
        self.flags(host='rpc-%s' % uuid.uuid4().hex[:12])
        self.host = rpc_host = self.conf.host
        volumes = []
        original_create = service_obj.Service.create

        def create_then_cast(row):
            original_create(row)
            # The API sees the manager up from here on. (A volume made before the start
            # would be created by the manager's start-up recovery, whatever the cast.)
            volumes.append(self.volume(status=mbase.VolumeStatus.CREATING))
            self.api().create_volume(self.ctx, volumes[0])
        self.useFixture(fixtures.MockPatchObject(service_obj.Service, 'create',
                                                 create_then_cast))
        self.start_manager('fake', driver=self.driver)
        self.assertEqual(rpc_host, volumes[0].host.split('@')[0])
        # Well within [manager] recover_after, after which the periodic recovery would
        # create it anyway.
        self.assertTrue(mbase.wait_for(
            lambda: self.reload(volumes[0]).status == mbase.VolumeStatus.AVAILABLE,
            timeout=10))

    def test_unsupported_version_is_refused_by_the_server(self):
        volume = self.volume()
        attachment = self.reserve(volume)
        client = messaging.get_rpc_client(
            rpc.get_transport(), messaging.Target(topic=rpcapi.TOPIC, version='2.0'),
            serializer=rpc.RequestContextSerializer())
        cctxt = client.prepare(server=volume.host, timeout=10)
        exc = self.assertRaises(messaging.RemoteError, cctxt.call, self.ctx,
                                'attachment_update', volume=volume, attachment=attachment,
                                connector=mbase.connector())
        self.assertEqual('UnsupportedVersion', exc.exc_type)
        self.assertEqual('reserved', self.attachment(attachment.id).attach_status)

    def test_version_cap_stops_newer_calls_at_the_client(self):
        self.flags(rpc_version_cap='1.0', group='manager')
        volume = self.volume()
        cctxt = self.api().client.prepare(server=volume.host, version='1.1')
        self.assertRaises(messaging.RPCVersionCapError, cctxt.call, self.ctx,
                          'attachment_update', volume=volume)

    def test_maintenance_methods_are_not_exposed(self):
        volume = self.volume()
        cctxt = self.api().client.prepare(server=volume.host, timeout=10)
        exc = self.assertRaises(messaging.RemoteError, cctxt.call, self.ctx,
                                'reclaim_reservations')
        self.assertEqual('NoSuchMethod', exc.exc_type)


class RabbitTimeoutTest(RabbitMixin, mbase.ManagerTestMixin, base.DbTestCase):
    """A manager whose row says it is alive but that does not answer."""

    def test_silent_manager_is_504_within_the_timeout(self):
        self.flags(rpc_response_timeout_api=2)
        service_obj.Service(self.admin, host=self.host, binary=rpcapi.BINARY,
                            backend='fake', topic=rpcapi.TOPIC).create()
        volume = self.volume()
        attachment = self.reserve(volume)
        with timeutils.StopWatch() as watch:
            exc = self.assertRaises(exception.ManagerTimeout,
                                    self.api().attachment_update, self.ctx, volume,
                                    attachment, mbase.connector())
        self.assertEqual(504, exc.code)
        self.assertGreaterEqual(watch.elapsed(), 1.9)
        self.assertLess(watch.elapsed(), 6)
        self.assertEqual('reserved', self.attachment(attachment.id).attach_status)

    def test_silent_manager_holds_a_bounded_number_of_callers(self):
        self.flags(rpc_response_timeout_api=3)
        self.flags(manager_calls_per_backend=2, group='api')
        service_obj.Service(self.admin, host=self.host, binary=rpcapi.BINARY,
                            backend='fake', topic=rpcapi.TOPIC).create()
        api = self.api()
        volume = self.volume(multiattach=True)
        attachments = [self.reserve(volume, instance=str(uuid.uuid4())) for _i in range(3)]
        waiting = [threading.Thread(target=self._update_ignoring_timeout,
                                    args=(api, volume, attachment))
                   for attachment in attachments[:2]]
        for thread in waiting:
            thread.start()
        self.addCleanup(lambda: [t.join(10) for t in waiting])
        time.sleep(1)
        # Two threads wait for the silent manager: the third caller is refused at once.
        with timeutils.StopWatch() as watch:
            exc = self.assertRaises(exception.ManagerBusy, api.attachment_update,
                                    self.ctx, volume, attachments[2], mbase.connector())
        self.assertEqual(503, exc.code)
        # Milliseconds; waiting behind the silent manager would take the 3 s timeout.
        self.assertLess(watch.elapsed(), 1.5)
        for thread in waiting:
            thread.join(10)
        # Once they gave up, the manager may be asked again (and times out again).
        self.assertRaises(exception.ManagerTimeout, api.attachment_update, self.ctx,
                          volume, attachments[2], mbase.connector())

    def _update_ignoring_timeout(self, api, volume, attachment):
        try:
            api.attachment_update(self.ctx, volume, attachment, mbase.connector())
        except exception.ManagerTimeout:
            pass
