"""The volume locks of a cluster's members (``attachd.coordination``) through tooz's file,
PostgreSQL and MySQL drivers: a lock one member (another process) holds keeps the other
waiting until it is released, and a member killed while it holds one releases it."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid

import fixtures

from attachd import coordination
from attachd.tests import base

# A second member: takes the volume's lock, says so, and holds it until told to release.
MEMBER = textwrap.dedent('''
    import os, sys, time
    from attachd import coordination
    url, volume_id, held, release = sys.argv[1:5]
    member = coordination.Coordinator('member-b', url).start()
    with coordination.volume_lock(member, volume_id):
        open(held, 'w').close()
        while not os.path.exists(release):
            time.sleep(0.01)
    member.stop()
''')
HOLD = 1.0


class LockMixin:
    """Two members of one cluster and one volume's lock."""

    def backend_url(self):
        raise NotImplementedError

    def setUp(self):
        super().setUp()
        self.workdir = self.useFixture(fixtures.TempDir()).path
        self.held = os.path.join(self.workdir, 'held')
        self.release = os.path.join(self.workdir, 'release')
        self.volume_id = str(uuid.uuid4())
        self.member_a = coordination.Coordinator('member-a', self.backend_url()).start()
        self.addCleanup(self.member_a.stop)

    def start_member_b(self):
        process = subprocess.Popen([sys.executable, '-c', MEMBER, self.backend_url(),
                                    self.volume_id, self.held, self.release],
                                   env=dict(os.environ, PYTHONWARNINGS='ignore'))
        self.addCleanup(self._kill, process)
        base.wait_for(lambda: os.path.exists(self.held) or process.poll() is not None,
                      timeout=30)
        self.assertIsNone(process.poll(), 'the second member exited')
        return process

    @staticmethod
    def _kill(process):
        if process.poll() is None:
            process.kill()
        process.wait(10)

    def acquire_in_thread(self):
        acquired = []

        def take():
            with coordination.volume_lock(self.member_a, self.volume_id):
                acquired.append(time.monotonic())
        thread = threading.Thread(target=take, daemon=True)
        thread.start()
        return thread, acquired

    def test_a_lock_held_by_another_member_serializes(self):
        member_b = self.start_member_b()
        thread, acquired = self.acquire_in_thread()
        time.sleep(HOLD)
        self.assertEqual([], acquired, 'both members held the lock of one volume')
        # Another volume's lock is free meanwhile (the file driver has one lock per name;
        # the database drivers hash names to 16 bits, so only the file driver is asked).
        if self.backend_url().startswith('file'):
            with coordination.volume_lock(self.member_a, str(uuid.uuid4())):
                pass
        released = time.monotonic()
        open(self.release, 'w').close()
        thread.join(30)
        self.assertEqual(1, len(acquired))
        self.assertGreaterEqual(acquired[0], released)
        self.assertEqual(0, member_b.wait(30))

    def test_a_killed_member_releases_its_locks(self):
        member_b = self.start_member_b()
        thread, acquired = self.acquire_in_thread()
        time.sleep(HOLD)
        self.assertEqual([], acquired)
        member_b.send_signal(signal.SIGKILL)
        member_b.wait(10)
        thread.join(30)
        self.assertEqual(1, len(acquired), 'the lock of a killed member stayed held')


class FileLockTest(LockMixin, base.TestCase):

    def backend_url(self):
        return 'file://%s' % os.path.join(self.workdir, 'locks')


def _tooz_url(engine, scheme):
    """tooz's URL for the test database: SQLAlchemy's without its DBAPI driver."""
    url = engine.url.set(drivername=scheme)
    return url.render_as_string(hide_password=False)


class PostgreSQLLockTest(LockMixin, base.PostgreSQLMixin, base.DbTestCase):

    def backend_url(self):
        return _tooz_url(self.engine, 'postgresql')


class MySQLLockTest(LockMixin, base.MySQLMixin, base.DbTestCase):

    def backend_url(self):
        return _tooz_url(self.engine, 'mysql')
