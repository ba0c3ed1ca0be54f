"""A real, running attachd for the conformance tests: child processes and an HTTP endpoint.

The conformance tests drive attachd with third-party clients' own code (openstacksdk,
python-openstackclient, Ironic, os-brick, ...) over real HTTP, so the server must be the one
operators run, not the in-process app of :mod:`attachd.tests.functional.fixtures`.
:class:`RunningAttachd` starts it in one of two modes (:data:`SCENARIOS`, for testscenarios):

``embedded``
    ``attachd-all`` on a free loopback port, with its own state directory and configuration:
    an SQLite database it creates at start, managers called in-process, no broker.
``deployed``
    A fresh PostgreSQL database provisioned by oslo.db's opportunistic backend (the
    ``openstack_citest`` account, as the other PostgreSQL tests use), its schema made by
    ``attachd-manage db sync``; one ``attachd-manager`` per backend over the real RabbitMQ
    on 127.0.0.1:5672, under a host name unique to the fixture so that its queues are never
    shared with another test's managers; ``attachd-api`` (gunicorn, 1 worker, 4 threads).
    The endpoint answers once the API is up and every manager has reported in the database.

Both use ``auth_strategy = noauth`` (callers send ``X-Auth-Token: user:project``; the user
``admin`` is an administrator). ``backends`` names the connector drivers enabled (``file``
by default, the first is where untyped volumes go); with ``tgt`` the manager starts its own
tgtd on private ports (root, tgtd and tgtadm needed), killed at cleanup.

Starting a server costs about a second (embedded) to a few seconds (deployed: db sync, the
manager's first report, gunicorn), so :class:`ServerTestCase` shares one server per test
class and scenario (started by the first test that needs it, stopped in
``tearDownClass``); tests create their own volumes and do not depend on an empty server.
:func:`unavailable` says why a mode cannot run here: the caller skips, or fails under
``ATTACHD_TEST_REQUIRE_SERVICES=1`` (:func:`attachd.tests.base.need_service`).
"""

import atexit
import os
import random
import signal
import subprocess
import tempfile
import time
import uuid

import fixtures
from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import provision
import sqlalchemy
import testscenarios

from attachd.tests import base
from attachd.tests.functional import ceph
from attachd.tests.functional.deploy import base as dbase
from attachd.tests.functional.drivers import test_tgt

EMBEDDED = 'embedded'
DEPLOYED = 'deployed'
SCENARIOS = [(EMBEDDED, {'mode': EMBEDDED}), (DEPLOYED, {'mode': DEPLOYED})]

START_TIMEOUT = 60

# Read at import, before any test runs: oslotest points tempfile at a directory of the
# current test that is removed when the test ends, and a shared server outlives its test.
TEMP_ROOT = tempfile.gettempdir()


def unavailable(mode, backends=('file',)):
    """Why a server of ``mode`` with ``backends`` cannot run on this machine, or None."""
    if 'tgt' in backends and not test_tgt.tgt_usable():
        return 'tgtd, tgtadm and qemu-io (as root)'
    if 'rbd' in backends and not ceph.ceph_usable():
        return 'a Ceph cluster (root, Debian packages ceph-mon, ceph-osd, python3-rbd)'
    if mode != DEPLOYED:
        return None
    if not base.port_open(5672):
        return 'RabbitMQ on 127.0.0.1:5672'
    try:
        provision.Backend.backend_for_database_type('postgresql')
    except db_exc.BackendNotAvailable:
        return 'PostgreSQL (oslo.db opportunistic account openstack_citest)'
    return None


class RunningAttachd(fixtures.Fixture, dbase.ProcessMixin):
    """attachd running as child processes; ``endpoint`` is its base URL (no ``/v3``).

    :param mode: :data:`EMBEDDED` or :data:`DEPLOYED`.
    :param backends: names of the enabled backends, each with the driver of that name.
    :ivar endpoint: ``http://127.0.0.1:<port>``.
    :ivar state_path: the state directory of the (first) manager: the file driver's
        volumes are under it.
    :ivar db_url: the database the server uses (for end-state checks).
    :ivar logs: ``{process name: log file}``.
    """

    def __init__(self, mode=EMBEDDED, backends=('file',)):
        super().__init__()
        self.mode = mode
        self.backends = tuple(backends)
        self.logs = {}
        self.processes = []
        self._engine = None

    def engine(self):
        """An engine on the server's database, for tests that check its rows (no pool: a
        connection is closed as soon as it is given back, and nothing holds the server's
        database open); disposed with the server."""
        if self._engine is None:
            self._engine = sqlalchemy.create_engine(self.db_url,
                                                    poolclass=sqlalchemy.pool.NullPool)
            self.addCleanup(self._engine.dispose)
        return self._engine

    def _setUp(self):
        self.workdir = self.useFixture(fixtures.TempDir(rootdir=TEMP_ROOT)).path
        self.host = 'conformance-%s' % uuid.uuid4().hex[:12]
        self.port = dbase.free_port()
        self.endpoint = 'http://127.0.0.1:%d' % self.port
        self.state_path = os.path.join(self.workdir, 'state')
        if 'tgt' in self.backends:
            self.tgt_control_port = _tgt_control_port()
            self.tgt_portal_port = dbase.free_port()
            self.addCleanup(self._kill_tgtd)
        if 'rbd' in self.backends:
            # A private cluster per server; attachd connects as client.attachd with the
            # capabilities the configuration guide documents.
            self.ceph = self.useFixture(ceph.PrivateCeph())
            self.ceph_keyring = self.ceph.attachd_user()
        try:
            if self.mode == EMBEDDED:
                self._start_embedded()
            else:
                self._start_deployed()
        except Exception:
            # Read now: the cleanup that follows a failed start removes the directory.
            for name, path in self.logs.items():
                self.addDetail('%s.log' % name, dbase.log_detail(path))
            raise

    def spawn(self, args, name, env=None):
        process = super().spawn(args, name, env)
        self.processes.append(process)
        return process

    def alive(self):
        """True while every process of this server runs."""
        return all(process.poll() is None for process in self.processes)

    def watch_log(self, name, path):
        """Remember the log; :meth:`ServerTestCase.setUp` shows it when a test fails."""
        self.logs[name] = path

    def _config(self, extra=''):
        text = ('[DEFAULT]\n'
                'host = %(host)s\n'
                'state_path = %(state)s\n'
                'enabled_backends = %(backends)s\n'
                'rpc_response_timeout_api = 10\n'
                '[api]\n'
                'auth_strategy = noauth\n'
                'bind_host = 127.0.0.1\n'
                'bind_port = %(port)d\n'
                'workers = 1\n'
                'threads = 4\n'
                % {'host': self.host, 'state': self.state_path, 'port': self.port,
                   'backends': ','.join(self.backends)})
        if 'tgt' in self.backends:
            text += ('[tgt]\n'
                     'connector_driver = tgt\n'
                     'tgt_portal_port = %d\n'
                     'tgt_control_port = %d\n'
                     'tgt_iqn_prefix = iqn.2026-01.org.attachd.conformance:\n'
                     % (self.tgt_portal_port, self.tgt_control_port))
        if 'rbd' in self.backends:
            text += ('[rbd]\n'
                     'connector_driver = rbd\n'
                     'rbd_ceph_conf = %s\n'
                     'rbd_user = attachd\n'
                     'rbd_keyring_conf = %s\n' % (self.ceph.conf, self.ceph_keyring))
        return text + extra

    def _start_embedded(self):
        self.db_url = 'sqlite:///%s' % os.path.join(self.state_path, 'attachd.sqlite')
        process = self.spawn([dbase.console_script('attachd-all'), '--config-file',
                              self.write_config(self._config())], 'attachd-all')
        dbase.wait_http(self.endpoint + '/', timeout=START_TIMEOUT, process=process)

    def _start_deployed(self):
        backend = provision.Backend.backend_for_database_type('postgresql')
        database = 'attachd_conf_%s' % uuid.uuid4().hex[:12]
        backend.create_named_database(database)
        self.addCleanup(backend.drop_named_database, database, conditional=True)
        self.db_url = backend.provisioned_database_url(database).render_as_string(
            hide_password=False)
        config = self.write_config(self._config(
            '[DEFAULT]\ntransport_url = %s\n'
            '[database]\nconnection = %s\n'
            '[manager]\nreport_interval = 1\n' % (base.RABBIT_URL, self.db_url)))
        result = subprocess.run([dbase.console_script('attachd-manage'), '--config-file',
                                 config, 'db', 'sync'], capture_output=True, text=True,
                                timeout=START_TIMEOUT,
                                env=dict(os.environ, PYTHONWARNINGS='ignore'))
        if result.returncode:
            raise RuntimeError('attachd-manage db sync: %s%s' % (result.stdout,
                                                                 result.stderr))
        manager = self.spawn([dbase.console_script('attachd-manager'), '--config-file',
                              config], 'attachd-manager')
        api = self.spawn([dbase.console_script('attachd-api'), '--config-file', config],
                         'attachd-api')
        dbase.wait_http(self.endpoint + '/', timeout=START_TIMEOUT, process=api)
        self._wait_managers(manager)

    def _wait_managers(self, process):
        """Wait until every backend's manager has its service row: the API schedules new
        volumes only on managers it has heard of."""
        engine = self.engine()
        query = sqlalchemy.text('SELECT count(*) FROM services WHERE host = :host '
                                'AND heartbeat_at IS NOT NULL')
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            with engine.connect() as conn:
                count = conn.execute(query, {'host': self.host}).scalar()
            if count >= len(self.backends):
                return
            if process.poll() is not None:
                raise RuntimeError('attachd-manager exited with %s' % process.returncode)
            if time.monotonic() > deadline:
                raise RuntimeError('attachd-manager did not report within %s s'
                                   % START_TIMEOUT)
            time.sleep(0.1)

    def _kill_tgtd(self):
        """Kill the tgtd that the manager started for this server's private ports."""
        pid_file = os.path.join(self.state_path, 'tgt-volumes',
                                'tgtd-%d.pid' % self.tgt_control_port)
        try:
            with open(pid_file) as f:
                os.kill(int(f.read().strip()), signal.SIGKILL)
        except (OSError, ValueError):
            pass

    def attach_logs(self, testcase):
        """Add this server's process logs to ``testcase``'s details."""
        for name, path in self.logs.items():
            testcase.addDetail('%s.log' % name, dbase.log_detail(path))


def _tgt_control_port():
    """A tgtd control port no running tgtd uses. It names a local socket, not a TCP port,
    and tgtd refuses numbers above about 32000 (the other tgt tests use 1000..31000)."""
    while True:
        port = random.randrange(1000, 31000)
        if not os.path.exists('/var/run/tgtd/socket.%d' % port):
            return port


class ServerTestCase(testscenarios.WithScenarios, base.TestCase):
    """A test against a :class:`RunningAttachd` of the test's scenario (``self.mode``).

    One server per class and mode, shared by the class's tests (see the module docstring).
    ``self.server`` is the fixture, ``self.endpoint`` its URL.
    """

    scenarios = SCENARIOS
    backends = ('file',)
    _servers = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._servers = {}

    @classmethod
    def tearDownClass(cls):
        while cls._servers:
            _stop(cls._servers.popitem()[1])
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        missing = unavailable(self.mode, self.backends)
        base.need_service(self, missing, missing is None)
        self.server = self._shared_server()
        self.endpoint = self.server.endpoint
        self.addOnException(lambda exc_info: self.server.attach_logs(self))

    def _shared_server(self):
        servers = type(self)._servers
        if servers is None:
            # Run without class fixtures (a plain unittest runner calling run() alone).
            servers = type(self)._servers = {}
        server = servers.get(self.mode)
        if server is None or not server.alive():
            if server is not None:
                # A server whose processes died fails the test that finds it, once, with
                # its logs; the next test gets a fresh one.
                server.attach_logs(self)
                _stop(servers.pop(self.mode))
                self.fail('the %s attachd of %s died' % (self.mode, type(self).__name__))
            server = RunningAttachd(self.mode, self.backends)
            try:
                server.setUp()
            except fixtures.MultipleExceptions as exc:
                # The start's own error first, the SetupError with the logs last.
                for name, detail in exc.args[-1][1].args[0].items():
                    self.addDetail(name, detail)
                raise exc.args[0][1] from None
            _RUNNING.add(server)
            servers[self.mode] = server
        return server


def _stop(server):
    _RUNNING.discard(server)
    server.cleanUp()


# Servers of classes whose tearDownClass did not run (an interrupted run) are stopped at
# exit rather than left behind in their own sessions.
_RUNNING = set()
atexit.register(lambda: [_stop(server) for server in list(_RUNNING)])
