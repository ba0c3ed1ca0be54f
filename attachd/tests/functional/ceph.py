"""A private single-node Ceph cluster for the rbd driver's tests.

One monitor on 127.0.0.1 (free v2 and v1 ports), one OSD on ``memstore`` (objects in
memory, nothing on disk but the mon's store), one ``rbd`` pool of size 1, cephx on; its
state in a temporary directory; daemons run in the foreground (``-f``) as children of the
test process, stopped by PID. Debian's Ceph 16.2 packages (``ceph-mon``, ``ceph-osd``,
``ceph-common``); ``tools/setup-test-services.sh`` installs them.

No manager daemon (``ceph-mgr``): nothing RBD and cephx do needs one (pools, images,
``auth`` and ``osd blocklist`` are the monitor's and the OSDs'), and it costs about 300 MB
and most of the start time. Without it ``ceph health`` says HEALTH_WARN (no active mgr),
so readiness is "the OSD is up and in and the pool's placement groups are active".
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid

import fixtures

POOL = 'rbd'

# The capabilities of attachd's own cephx user; doc/source/configuration.rst lists them.
ATTACHD_CAPS = ['mon', 'profile rbd, allow command "auth get-or-create", '
                'allow command "auth rm", allow command "osd blocklist", '
                'allow command "sessions"',
                'osd', 'profile rbd pool=%s' % POOL]
BINARIES = ('ceph-mon', 'ceph-osd', 'ceph', 'ceph-authtool', 'monmaptool')


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def bindings_importable():
    """True when the rados and rbd Python bindings import (tools/ceph-bindings.py)."""
    try:
        import rados  # noqa: F401
        import rbd  # noqa: F401
    except ImportError:
        return False
    return True


def ceph_usable():
    """True when a private cluster can run here and the bindings import."""
    return (os.geteuid() == 0 and all(shutil.which(b) for b in BINARIES) and
            bindings_importable())


CONF_TEMPLATE = """\
[global]
fsid = {fsid}
mon host = [v2:127.0.0.1:{v2},v1:127.0.0.1:{v1}]
public network = 127.0.0.0/8
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
run dir = {dir}/run
admin socket = {dir}/run/$name.asok
pid file = {dir}/run/$name.pid
log file = {dir}/log/$name.log
mon data = {dir}/$type.$id
osd data = {dir}/$type.$id
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
mon initial members = a
osd pool default size = 1
osd pool default min size = 1
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
osd objectstore = memstore
memstore device bytes = {memstore_bytes}
osd op num shards = 1
osd op num threads per shard = 2
ms bind ipv6 = false

[mon]
keyring = {dir}/$type.$id/keyring

[osd]
keyring = {dir}/$type.$id/keyring

[client.admin]
keyring = {dir}/client.admin.keyring
"""


class PrivateCeph(fixtures.Fixture):
    """A single-node Ceph cluster of the test's own; see the module docstring.

    ``conf`` is the path of its ceph.conf, ``admin_keyring`` the keyring of
    ``client.admin``. ``start_seconds`` and ``stop_seconds`` are measured.
    """

    def __init__(self, memstore_bytes=1024 ** 3):
        super().__init__()
        self.memstore_bytes = memstore_bytes

    def _setUp(self):
        started = time.monotonic()
        self.directory = tempfile.mkdtemp(prefix='attachd-ceph-', dir='/tmp')
        self.addCleanup(shutil.rmtree, self.directory, ignore_errors=True)
        self.fsid = str(uuid.uuid4())
        self.v2, self.v1 = free_port(), free_port()
        self.conf = os.path.join(self.directory, 'ceph.conf')
        self.admin_keyring = os.path.join(self.directory, 'client.admin.keyring')
        for sub in ('run', 'log', 'mon.a', 'osd.0'):
            os.makedirs(os.path.join(self.directory, sub))
        with open(self.conf, 'w') as f:
            f.write(CONF_TEMPLATE.format(fsid=self.fsid, v2=self.v2, v1=self.v1,
                                         dir=self.directory,
                                         memstore_bytes=self.memstore_bytes))
        self.processes = {}
        self.addCleanup(self.stop)
        self._make_monitor()
        self._start('mon.a', ['ceph-mon', '-f', '-i', 'a', '-c', self.conf])
        self._make_osd()
        self._start('osd.0', ['ceph-osd', '-f', '-i', '0', '-c', self.conf])
        self.ceph('osd', 'pool', 'create', POOL, '8', '8')
        self.ceph('osd', 'pool', 'application', 'enable', POOL, 'rbd')
        self._wait_for_pool()
        self.start_seconds = time.monotonic() - started

    def _run(self, *args, timeout=60, check=True, input=None):
        result = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout,
                                input=input)
        if check and result.returncode != 0:
            raise RuntimeError('%s failed (%d): %s' % (' '.join(args), result.returncode,
                                                       result.stderr.strip()))
        return result

    def ceph(self, *args, timeout=60, check=True):
        """Run the ``ceph`` command as client.admin; return its stdout."""
        return self._run('ceph', '-c', self.conf, '--connect-timeout', '30', *args,
                         timeout=timeout, check=check).stdout

    def ceph_json(self, *args):
        return json.loads(self.ceph(*args, '--format', 'json'))

    def _make_monitor(self):
        mon_keyring = os.path.join(self.directory, 'mon.keyring')
        self._run('ceph-authtool', '--create-keyring', mon_keyring, '--gen-key', '-n',
                  'mon.', '--cap', 'mon', 'allow *')
        self._run('ceph-authtool', '--create-keyring', self.admin_keyring, '--gen-key',
                  '-n', 'client.admin', '--cap', 'mon', 'allow *', '--cap', 'osd',
                  'allow *', '--cap', 'mgr', 'allow *')
        self._run('ceph-authtool', mon_keyring, '--import-keyring', self.admin_keyring)
        monmap = os.path.join(self.directory, 'monmap')
        self._run('monmaptool', '--create', '--fsid', self.fsid, '--addv', 'a',
                  '[v2:127.0.0.1:%d,v1:127.0.0.1:%d]' % (self.v2, self.v1), monmap)
        self._run('ceph-mon', '--mkfs', '-i', 'a', '-c', self.conf, '--monmap', monmap,
                  '--keyring', mon_keyring)

    def _make_osd(self):
        osd_uuid = str(uuid.uuid4())
        osd_id = self.ceph('osd', 'new', osd_uuid).strip()
        if osd_id != '0':
            raise RuntimeError('expected osd.0, got osd.%s' % osd_id)
        keyring = os.path.join(self.directory, 'osd.0', 'keyring')
        self._run('ceph-authtool', '--create-keyring', keyring, '--gen-key', '-n', 'osd.0')
        self.ceph('auth', 'add', 'osd.0', 'mon', 'allow profile osd', 'mgr',
                  'allow profile osd', 'osd', 'allow *', '-i', keyring)
        self._run('ceph-osd', '-i', '0', '-c', self.conf, '--no-mon-config', '--mkfs',
                  '--osd-uuid', osd_uuid)

    def _start(self, name, args):
        log = open(os.path.join(self.directory, 'log', '%s.stderr' % name), 'wb')
        self.addCleanup(log.close)
        self.processes[name] = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)

    def _wait_for_pool(self, timeout=60):
        """Until an object can be written to the pool: its placement groups are active
        (``ceph pg`` would need a manager daemon)."""
        import rados

        cluster = self.admin_rados(rados_osd_op_timeout='2')
        try:
            ioctx = cluster.open_ioctx(POOL)
            deadline = time.monotonic() + timeout
            while True:
                for name, process in self.processes.items():
                    if process.poll() is not None:
                        raise RuntimeError('%s exited with %s' % (name, process.returncode))
                try:
                    ioctx.write_full('attachd-probe', b'ready')
                    ioctx.remove_object('attachd-probe')
                    break
                except rados.Error:
                    if time.monotonic() > deadline:
                        raise RuntimeError('the %s pool did not become writable within '
                                           '%d s' % (POOL, timeout))
            ioctx.close()
        finally:
            cluster.shutdown()

    def attachd_user(self):
        """Create ``client.attachd`` with :data:`ATTACHD_CAPS`; return its keyring's
        path."""
        keyring = os.path.join(self.directory, 'attachd.keyring')
        self.ceph('auth', 'get-or-create', 'client.attachd', *ATTACHD_CAPS, '-o', keyring)
        return keyring

    def admin_rados(self, **options):
        """A connected ``rados.Rados`` of client.admin (the caller shuts it down)."""
        import rados

        cluster = rados.Rados(conffile=self.conf, name='client.admin',
                              conf=dict(keyring=self.admin_keyring, **options))
        cluster.connect(timeout=30)
        return cluster

    def stop(self):
        """Kill the daemons by PID. SIGKILL, not a clean shutdown: the cluster is thrown
        away with its directory, and the OSD's objects are in memory anyway."""
        started = time.monotonic()
        for process in self.processes.values():
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
        for process in self.processes.values():
            process.wait()
        self.processes = {}
        self.stop_seconds = time.monotonic() - started
