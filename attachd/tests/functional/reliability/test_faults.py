"""Faults under load: the database or the broker goes away and comes back while callers
keep sending requests. attachd answers 503 quickly while it is gone, never a 500 or a
traceback, and serves again once it is back, without being restarted; the volumes stay
consistent with their attachments.
"""

import threading
import time

import fixtures
from oslo_db.sqlalchemy import enginefacade
from oslo_db.sqlalchemy import test_fixtures
from oslo_serialization import jsonutils

from attachd.common import rpc
from attachd.db import api as db_api
from attachd.db import models
from attachd.drivers import fake
from attachd.manager import service as manager_service
from attachd.tests import base
from attachd.tests.functional import fixtures as api_fixtures
from attachd.tests.functional.reliability import base as rbase
from attachd.tests.functional.reliability import services

THREADS = 4
# A 503 must come quickly: no request hangs for longer than this while a service is down.
FAST = 5.0
# The same through the RPC client, whose publish and reconnection on a silent partition
# each wait for the heartbeat threshold; still far below the RPC timeout Cinder's callers
# wait for (60 s).
FAST_BROKER = 10.0


class Load:
    """``THREADS`` callers, each looping Nova's attach and detach of its own volume
    (list and clean up, create, update, delete), recording (status, seconds, body, end
    time)."""

    def __init__(self, test, volumes):
        self.test = test
        self.volumes = volumes
        self.results = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(v,), daemon=True)
                         for v in volumes]

    def _call(self, function, *args):
        started = time.monotonic()
        response = function(*args)
        with self._lock:
            self.results.append((response.status, time.monotonic() - started,
                                 response.body, time.monotonic()))
        return response

    def _run(self, volume):
        nova = self.test.nova
        i = 0
        while not self._stop.is_set():
            i += 1
            # Like Nova's cleanup: whatever a failed request left on the volume goes.
            listed = self._call(nova.get, '/attachments?volume_id=%s' % volume.id)
            if listed.status == 200:
                for attachment in listed.json['attachments']:
                    self._call(nova.remove, attachment['id'])
            created = self._call(nova.create, volume.id, rbase.instance(i))
            if created.status != 200:
                time.sleep(0.05)
                continue
            attachment_id = created.json['attachment']['id']
            self._call(nova.update, attachment_id, rbase.connector(i))
            self._call(nova.remove, attachment_id)

    def start(self):
        for t in self._threads:
            t.start()

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(60)
            if t.is_alive():
                raise AssertionError('a caller hangs')

    def since(self, moment):
        return [r for r in self.results if r[3] >= moment]


class FaultTestMixin(rbase.ApiMixin):

    def check_answers(self, load):
        """Every answer is a success or a clean fault; 503s come fast."""
        statuses = {}
        for status, seconds, body, _at in load.results:
            statuses[status] = statuses.get(status, 0) + 1
            self.assertIn(status, (200, 204, 400, 404, 503), body)
            self.assertNotIn(b'Traceback', body)
            if status >= 400:
                self.assertFault(_Recorded(status, body), status)
            if status == 503:
                self.assertLess(seconds, FAST, body)
        return statuses

    def clean_up_and_check(self, volumes):
        """After the fault, every volume can be detached and is consistent."""
        for volume in volumes:
            for attachment in self.live_attachments(volume.id):
                response = self.nova.remove(attachment.id)
                self.assertIn(response.status, (200, 404), response)
            self.assertConsistent(volume.id)
            self.assertEqual('available', self.reload(volume.id).status)


class _Recorded(rbase.Response):
    """A recorded answer, for assertFault."""

    def __init__(self, status, body):
        self.status = status
        self.body = body
        self.content_type = 'application/json'
        self.json = jsonutils.loads(body)


class PrivatePostgreSQLMixin:
    """attachd on a PostgreSQL cluster of the test's own (the shared one serves everyone
    else), which the test may stop and start."""

    def use_private_postgresql(self):
        base.need_service(self, 'PostgreSQL binaries (initdb, pg_ctl) run as root',
                          services.pg_usable())
        self.pg = self.useFixture(services.PrivatePostgreSQL())
        facade = enginefacade.transaction_context()
        facade.configure(connection=self.pg.url, max_pool_size=10, max_overflow=20,
                         pool_timeout=10)
        facade.append_on_engine_create(db_api.setup_engine)
        engine = facade.writer.get_engine()
        models.BASE.metadata.create_all(engine)
        self.addCleanup(engine.dispose)
        self.useFixture(fixtures.MockPatchObject(db_api, '_configured', True))
        self.useFixture(test_fixtures.ReplaceEngineFacadeFixture(
            db_api.main_context_manager, facade))


class PostgreSQLRestartTest(PrivatePostgreSQLMixin, FaultTestMixin, base.TestCase):
    """The private PostgreSQL stopped and started again under load; oslo.db reconnects
    by itself."""

    def setUp(self):
        super().setUp()
        self.use_private_postgresql()
        self.start_api()

    def test_restart_under_load(self):
        volumes = [self.volume() for _i in range(THREADS)]
        load = Load(self, volumes)
        load.start()
        try:
            time.sleep(1.5)
            self.pg.stop()
            down_at = time.monotonic()
            time.sleep(3)
            self.pg.start()
            up_at = time.monotonic()
            # Serving again without any restart of attachd.
            recovered = services.wait_until(
                lambda: self.nova.get('/attachments').status == 200, timeout=30)
            self.assertTrue(recovered, 'no recovery within 30 s')
            recovered_at = time.monotonic()
            time.sleep(3)
        finally:
            load.stop()
        statuses = self.check_answers(load)
        during = [r[0] for r in load.results if down_at + 0.5 < r[3] < up_at]
        self.assertIn(503, during, statuses)
        self.assertEqual({503}, set(during) - {200, 204, 400, 404}, statuses)
        after = load.since(recovered_at + 0.5)
        self.assertTrue(after)
        self.assertNotIn(503, [r[0] for r in after], statuses)
        self.assertIn(200, [r[0] for r in after], statuses)
        self.clean_up_and_check(volumes)


class _StopsTheDatabase(fake.FakeDriver):
    """The fake driver, calling ``stop_database`` once in its method named ``stop_in``:
    the database stops in the middle of a request."""

    stop_in = None
    stop_database = None

    def _maybe_stop(self, method):
        if method == self.stop_in:
            self.stop_in = None
            self.stop_database()

    def create_export(self, volume, connector):
        super().create_export(volume, connector)
        self._maybe_stop('create_export')

    def terminate_connection(self, volume, connector, remaining_connectors):
        shared = super().terminate_connection(volume, connector, remaining_connectors)
        self._maybe_stop('terminate_connection')
        return shared


class DatabaseStoppedMidRequestTest(PrivatePostgreSQLMixin, FaultTestMixin,
                                   base.TestCase):
    """The database stops in the middle of requests, for the API and for a manager over
    RabbitMQ: 503 with a generic message, never a library's exception text nor the
    database's address; the rows are unchanged once it is back."""

    def setUp(self):
        super().setUp()
        base.need_rabbit(self)
        self.use_private_postgresql()
        self.addCleanup(setattr, rpc, '_transport', rpc._transport)
        rpc._transport = None
        self.addCleanup(RabbitRestartTest._cleanup_transport)
        self.host = 'dbstop-%s' % rbase.new_uuid()[:12]
        self.overrides = {(None, 'transport_url'): base.RABBIT_URL,
                          (None, 'rpc_response_timeout_api'): 10}
        self.start_api()
        rpc.unregister_local_manager(api_fixtures.SERVER)
        self.flags(host=self.host)
        self.driver = _StopsTheDatabase(manager_service.CONF, api_fixtures.BACKEND)
        self.driver.stop_database = self.pg.stop
        self.service = manager_service.ManagerService(
            api_fixtures.BACKEND, host=self.host, driver=self.driver).start()
        self.addCleanup(self.service.stop)
        self.assertIsNotNone(self.service.rpc_server)

    def volume(self, **kw):
        kw.setdefault('host', '%s@%s' % (self.host, api_fixtures.BACKEND))
        return super().volume(**kw)

    def assertGeneric503(self, response):
        self.assertFault(response, 503, 'The database is not reachable')
        for leak in (b'psycopg2', b'Error', b'127.0.0.1', str(self.pg.port).encode(),
                     b'server closed', b'connection'):
            self.assertNotIn(leak, response.body)

    def test_manager_loses_the_database_while_connecting(self):
        """The manager has exported, and cannot record the connection."""
        volume = self.volume()
        attachment_id = self.nova.create(volume.id, rbase.instance(1)).json[
            'attachment']['id']
        self.driver.stop_in = 'create_export'
        response = self.nova.update(attachment_id, rbase.connector(1))
        self.assertGeneric503(response)
        # The API's own reads and writes, while it is down.
        for response in (self.nova.get('/attachments/%s' % attachment_id),
                         self.nova.get('/volumes/detail'),
                         self.nova.create(volume.id, rbase.instance(2)),
                         self.nova.update(attachment_id, rbase.connector(1)),
                         self.nova.remove(attachment_id),
                         self.client.post('/volumes', {'volume': {'size': 1}})):
            self.assertGeneric503(response)
        self.pg.start()
        self.assertTrue(services.wait_until(
            lambda: self.nova.get('/attachments').status == 200, timeout=30))
        # Nothing was recorded, and the manager undid its export.
        live = self.live_attachments(volume.id)
        self.assertEqual([(attachment_id, 'reserved', None, None)],
                         [(a.id, a.attach_status, a.connector, a.connection_info)
                          for a in live])
        self.assertConsistent(volume.id, self.driver)
        self.assertEqual(1, len(self.client.get('/volumes').json['volumes']))
        response = self.nova.update(attachment_id, rbase.connector(1))
        self.assertEqual(200, response.status, response)
        self.assertConsistent(volume.id, self.driver)


    def test_api_loses_the_database_while_deleting(self):
        """The manager revoked the host's access; the API cannot delete the row. The
        attachment stays until Nova retries, which then succeeds."""
        volume = self.volume()
        response = self.nova.create(volume.id, rbase.instance(1), rbase.connector(1))
        attachment_id = response.json['attachment']['id']
        self.driver.stop_in = 'terminate_connection'
        response = self.nova.remove(attachment_id)
        self.assertGeneric503(response)
        self.pg.start()
        self.assertTrue(services.wait_until(
            lambda: self.nova.get('/attachments').status == 200, timeout=30))
        self.assertEqual([attachment_id],
                         [a.id for a in self.live_attachments(volume.id)])
        self.assertEqual('attaching', self.reload(volume.id).status)
        response = self.nova.remove(attachment_id)
        self.assertEqual(200, response.status, response)
        self.assertEqual([], self.live_attachments(volume.id))
        self.assertConsistent(volume.id, self.driver)
        self.assertEqual('available', self.reload(volume.id).status)


class BrokerBehindProxyMixin(FaultTestMixin):
    """The API and a manager talking to the shared RabbitMQ through a TCP proxy of the
    test's own (``self.proxy``), which the test cuts, freezes and restores."""

    #: ``[DEFAULT] rpc_response_timeout_api``, or None for attachd's default.
    rpc_timeout = None

    def setUp(self):
        super().setUp()
        base.need_rabbit(self)
        self.proxy = self.useFixture(services.TcpProxy(5672))
        # The process keeps one RPC transport; an earlier test's would bypass the proxy.
        self.addCleanup(setattr, rpc, '_transport', rpc._transport)
        rpc._transport = None
        self.addCleanup(self._cleanup_transport)
        self.host = 'rmq-%s' % rbase.new_uuid()[:12]
        self.overrides = {
            (None, 'transport_url'): 'rabbit://guest:guest@127.0.0.1:%d/'
                                          % self.proxy.port,
        }
        if self.rpc_timeout:
            self.overrides[(None, 'rpc_response_timeout_api')] = self.rpc_timeout
        self.start_api()
        rpc.unregister_local_manager(api_fixtures.SERVER)
        self.flags(host=self.host)
        self.service = manager_service.ManagerService(
            api_fixtures.BACKEND, host=self.host, driver=self.api.driver).start()
        self.addCleanup(self.service.stop)
        self.assertIsNotNone(self.service.rpc_server)

    @staticmethod
    def _cleanup_transport():
        if rpc._transport is not None:
            rpc._transport.cleanup()

    def volume(self, **kw):
        kw.setdefault('host', '%s@%s' % (self.host, api_fixtures.BACKEND))
        return super().volume(**kw)


class RabbitRestartTest(BrokerBehindProxyMixin, base.DbTestCase):
    """The broker goes away and comes back under load.

    Not a second RabbitMQ node: a TCP proxy in front of the shared broker, which the test
    cuts (every connection, and every new one, reset) and restores. For attachd's clients
    that is what a broker restart looks like, it takes milliseconds instead of the
    seconds a node needs to boot, and the shared broker other tests use is never touched.
    """

    rpc_timeout = 3

    def test_broker_restart_under_load(self):
        volumes = [self.volume() for _i in range(THREADS)]
        load = Load(self, volumes)
        load.start()
        try:
            time.sleep(1.5)
            self.proxy.cut()
            cut_at = time.monotonic()
            # A call that needs the manager, sent while the broker is away: 503, fast.
            time.sleep(0.5)
            probe_volume = self.volume()
            volumes.append(probe_volume)
            started = time.monotonic()
            probe = self.nova.create(probe_volume.id, rbase.instance(98),
                                     rbase.connector(98))
            probe_seconds = time.monotonic() - started
            # Longer than rpc_response_timeout_api: callers caught waiting for an answer
            # (504) send again while the broker is still away.
            time.sleep(max(0, 7 - (time.monotonic() - cut_at)))
            self.proxy.restore()
            restored_at = time.monotonic()

            def attach_works():
                volume = self.volume()
                response = self.nova.create(volume.id, rbase.instance(99),
                                            rbase.connector(99))
                volumes.append(volume)
                return response.status == 200

            recovered = services.wait_until(attach_works, timeout=90, interval=0.5)
            self.assertTrue(recovered, 'no recovery within 90 s')
            recovered_at = time.monotonic()
            time.sleep(3)
        finally:
            load.stop()
        # Requests already waiting for the manager when the broker went away may time
        # out (504 after rpc_response_timeout_api), and so may those that reach the
        # broker once it is back but before the manager has reconnected; those that
        # end while it is away are 503s.
        statuses = {}
        for status, _seconds, body, _at in load.results:
            statuses[status] = statuses.get(status, 0) + 1
            self.assertNotIn(b'Traceback', body)
            if status >= 400:
                self.assertFault(_Recorded(status, body), status)
        self.assertEqual(set(), {r[0] for r in load.results} - {200, 204, 400, 404, 503,
                                                                 504}, statuses)
        for status, seconds, body, at in load.results:
            if status == 504:
                self.assertTrue(at - seconds < cut_at + 0.2 or at > restored_at,
                                (seconds, at, cut_at, restored_at))
            if status == 503:
                # A publish and a reconnection, each bounded by the heartbeat threshold.
                self.assertLess(seconds, FAST_BROKER, body)
        self.assertFault(probe, 503)
        self.assertLess(probe_seconds, FAST_BROKER)
        # No reservation is left behind by the refused create.
        self.assertEqual([], self.live_attachments(probe_volume.id))
        after = [r[0] for r in load.results if r[3] - r[1] > recovered_at + 0.5]
        self.assertTrue(after)
        self.assertEqual(set(), set(after) - {200, 204}, statuses)
        self.clean_up_and_check(volumes)


class BrokerPartitionTest(BrokerBehindProxyMixin, base.DbTestCase):
    """A silent network partition between attachd and the broker: the TCP proxy stops
    forwarding without closing anything (no reset, no FIN: what a cut cable or a
    dropping firewall looks like), with attachd's default timeouts. Requests that need
    a manager fail with 503 within 10 s, naming no host or port, while requests that
    need only the database keep working; once the partition ends, attach works again.
    The RPC timeout is attachd's default (30 s): the partition is detected before it."""

    def test_silent_partition(self):
        volume = self.volume()
        self.assertEqual(200, self.nova.create(volume.id, rbase.instance(1),
                                               rbase.connector(1)).status)
        self.proxy.freeze()
        probes = []
        for i in range(2, 5):
            probe_volume = self.volume()
            started = time.monotonic()
            response = self.nova.create(probe_volume.id, rbase.instance(i),
                                        rbase.connector(i))
            probes.append((response, time.monotonic() - started))
            # Requests that need only the database are served meanwhile.
            self.assertEqual(200, self.nova.get('/attachments').status)
            self.assertEqual([], self.live_attachments(probe_volume.id))
        for response, seconds in probes:
            self.assertFault(response, 503)
            self.assertLess(seconds, FAST_BROKER, response)
            self.assertNotIn(b'127.0.0.1', response.body)
            self.assertNotIn(b'%d' % self.proxy.port, response.body)
        self.proxy.restore()

        def attach_works():
            fresh = self.volume()
            return self.nova.create(fresh.id, rbase.instance(9),
                                    rbase.connector(9)).status == 200

        self.assertTrue(services.wait_until(attach_works, timeout=90, interval=0.5),
                        'no recovery within 90 s of the partition\'s end')
