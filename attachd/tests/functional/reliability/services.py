"""Private services the fault tests may stop and start: a PostgreSQL cluster, a RabbitMQ
node and a TCP proxy in front of the shared RabbitMQ. The shared PostgreSQL, MariaDB and
RabbitMQ of the machine serve every other test and are never touched."""

import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

import fixtures

PG_BIN = '/usr/lib/postgresql/15/bin'


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def pg_usable():
    return (os.geteuid() == 0 and os.path.exists(os.path.join(PG_BIN, 'initdb')) and
            shutil.which('runuser') is not None)


class PrivatePostgreSQL(fixtures.Fixture):
    """A PostgreSQL cluster of the test's own (initdb into a temporary directory, pg_ctl
    on a free port), run as the ``postgres`` user; :meth:`stop` and :meth:`start` it at
    will. Removed at cleanup."""

    def _setUp(self):
        self.port = free_port()
        # Not under the test's TMPDIR: its parents are private to root, and the server
        # runs as postgres.
        self.directory = tempfile.mkdtemp(prefix='attachd-pg-', dir='/tmp')
        self.addCleanup(shutil.rmtree, self.directory, ignore_errors=True)
        os.chmod(self.directory, 0o755)
        self.data = os.path.join(self.directory, 'data')
        os.makedirs(self.data)
        shutil.chown(self.data, 'postgres', 'postgres')
        os.chmod(self.data, 0o700)
        self._as_postgres(os.path.join(PG_BIN, 'initdb'), '-D', self.data, '-A', 'trust',
                          '-U', 'postgres', '--no-sync', timeout=120)
        self.addCleanup(self._stop_quietly)
        self.start()
        self._as_postgres(os.path.join(PG_BIN, 'createdb'), '-h', '127.0.0.1', '-p',
                          str(self.port), '-U', 'postgres', 'attachd')
        self.url = 'postgresql+psycopg2://postgres@127.0.0.1:%d/attachd' % self.port

    def _as_postgres(self, *args, timeout=60):
        subprocess.run(['runuser', '-u', 'postgres', '--'] + list(args), check=True,
                       capture_output=True, timeout=timeout, cwd='/')

    def start(self):
        options = ('-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories=%s '
                   '-c fsync=off' % (self.port, self.data))
        self._as_postgres(os.path.join(PG_BIN, 'pg_ctl'), '-D', self.data, '-o', options,
                          '-l', os.path.join(self.data, 'log'), '-w', '-t', '60', 'start',
                          timeout=90)

    def stop(self, mode='fast'):
        self._as_postgres(os.path.join(PG_BIN, 'pg_ctl'), '-D', self.data, '-m', mode,
                          '-w', '-t', '60', 'stop', timeout=90)

    def _stop_quietly(self):
        try:
            self.stop('immediate')
        except subprocess.CalledProcessError:
            pass


def rabbitmq_usable():
    return (os.geteuid() == 0 and shutil.which('rabbitmq-server') is not None and
            shutil.which('rabbitmqctl') is not None)


class PrivateRabbitMQ(fixtures.Fixture):
    """A RabbitMQ node of the test's own, beside the machine's: its own node name, AMQP
    and distribution ports, database and logs in a temporary directory, no plugins.
    :meth:`restart` stops it and starts it again on the same ports and database: what a
    broker restart does to messages (the non-durable queues and what they held are
    gone). Stopped and removed at cleanup. Starting it takes 5 to 10 seconds."""

    def _setUp(self):
        self.port = free_port()
        self.node = 'attachd-test-%d@localhost' % self.port
        # The server runs as the rabbitmq user (rabbitmq-server switches to it).
        self.directory = tempfile.mkdtemp(prefix='attachd-rabbitmq-', dir='/tmp')
        self.addCleanup(shutil.rmtree, self.directory, ignore_errors=True)
        with open(os.path.join(self.directory, 'enabled_plugins'), 'w') as f:
            f.write('[].\n')
        with open(os.path.join(self.directory, 'rabbitmq.conf'), 'w') as f:
            f.write('listeners.tcp.local = 127.0.0.1:%d\n' % self.port)
        shutil.chown(self.directory, 'rabbitmq', 'rabbitmq')
        for name in os.listdir(self.directory):
            shutil.chown(os.path.join(self.directory, name), 'rabbitmq', 'rabbitmq')
        os.chmod(self.directory, 0o755)
        self.env = dict(
            os.environ, RABBITMQ_NODENAME=self.node, RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(free_port()),
            RABBITMQ_MNESIA_BASE=os.path.join(self.directory, 'mnesia'),
            RABBITMQ_LOG_BASE=os.path.join(self.directory, 'log'),
            RABBITMQ_PID_FILE=os.path.join(self.directory, 'pid'),
            RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(self.directory, 'enabled_plugins'),
            RABBITMQ_CONFIG_FILE=os.path.join(self.directory, 'rabbitmq.conf'))
        self.url = 'rabbit://guest:guest@127.0.0.1:%d/' % self.port
        self._process = None
        self.addCleanup(self._stop_quietly)
        self.start()

    def start(self, timeout=120):
        # 5 to 10 seconds on an idle machine; far more on a loaded one.
        self._process = subprocess.Popen(
            ['rabbitmq-server'], env=self.env, cwd=self.directory,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        if not wait_until(self._serving, timeout, interval=0.2):
            raise RuntimeError('RabbitMQ node %s did not start within %d s'
                               % (self.node, timeout))

    def _serving(self):
        if self._process.poll() is not None:
            raise RuntimeError('RabbitMQ node %s exited with %s'
                               % (self.node, self._process.returncode))
        result = subprocess.run(['rabbitmqctl', '-n', self.node, '-q', 'list_queues'],
                                env=self.env, capture_output=True, timeout=30)
        return result.returncode == 0

    def stop(self):
        subprocess.run(['rabbitmqctl', '-n', self.node, 'shutdown'], env=self.env,
                       capture_output=True, check=True, timeout=60)
        self._process.wait(30)

    def restart(self):
        self.stop()
        self.start()

    def queues(self):
        """The names of the node's queues."""
        result = subprocess.run(['rabbitmqctl', '-n', self.node, '-q', 'list_queues',
                                 'name'], env=self.env, capture_output=True, text=True,
                                check=True, timeout=30)
        return [line.strip() for line in result.stdout.splitlines()[1:] if line.strip()]

    def _stop_quietly(self):
        if self._process is None or self._process.poll() is not None:
            return
        try:
            self.stop()
        except (subprocess.SubprocessError, OSError):
            os.killpg(self._process.pid, signal.SIGKILL)


class TcpProxy(fixtures.Fixture):
    """Forwards a free local port to ``target``; :meth:`cut` resets every connection and
    every new one (what clients see of a broker that went away), :meth:`freeze` stops
    forwarding without closing anything (a silent network partition: bytes go nowhere, no
    reset, new connections get no answer), :meth:`restore` forwards again. The port stays
    bound all along, so nothing else can take it meanwhile."""

    def __init__(self, target_port, target_host='127.0.0.1'):
        super().__init__()
        self.target = (target_host, target_port)

    def _setUp(self):
        self._lock = threading.Lock()
        self._sockets = []
        self._cut = False
        self._flowing = threading.Event()
        self._flowing.set()
        self._server = socket.socket()
        self._server.bind(('127.0.0.1', 0))
        self._server.listen(64)
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()
        self.addCleanup(self._shutdown)

    def cut(self):
        """Reset every connection; new ones are reset as soon as they are accepted."""
        with self._lock:
            self._cut = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _reset(sock)

    def freeze(self):
        """Stop forwarding, in both directions, without closing any connection."""
        self._flowing.clear()

    def restore(self):
        with self._lock:
            self._cut = False
        self._flowing.set()

    def _shutdown(self):
        self.cut()
        self._flowing.set()
        self._server.close()

    def _accept(self):
        while True:
            try:
                client, _address = self._server.accept()
            except OSError:
                return
            # Partitioned: the connection is accepted (the client's connect succeeds) but
            # nothing answers until the partition ends.
            self._flowing.wait()
            with self._lock:
                cut = self._cut
            if cut:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                # Cut while the upstream connection was being opened: reset both.
                cut = self._cut
                if not cut:
                    self._sockets += [client, upstream]
            if cut:
                _reset(client)
                _reset(upstream)
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                # Partitioned: held, as by a network that delivers it once it heals.
                self._flowing.wait()
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _reset(sock):
    """Close with a TCP reset (linger 0), as a dead peer's host answers."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    except OSError:
        pass
    sock.close()


def wait_until(predicate, timeout, interval=0.1):
    """Poll ``predicate``; return its value, or None after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None
