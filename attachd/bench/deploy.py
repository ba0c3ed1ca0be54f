"""Start what the benchmark measures from a clean state, and tear it all down.

Every process is started in its own session (process group), its output kept in the run's
temporary directory, and stopped with SIGTERM then SIGKILL on the whole group when the
benchmark ends, fails or is interrupted. PostgreSQL databases are created fresh for a run
and dropped afterwards.
"""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

from attachd.bench import httpclient

PG_ADMIN_DSN = os.environ.get(
    'ATTACHD_BENCH_PG_ADMIN',
    'postgresql://openstack_citest:openstack_citest@127.0.0.1:5432/postgres')
RABBIT_URL = os.environ.get('ATTACHD_BENCH_RABBIT', 'rabbit://guest:guest@127.0.0.1:5672/')


class BenchError(Exception):
    """Something the benchmark needs did not work; the message says what."""


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def bin_path(name):
    """A console script of the same installation as this Python."""
    candidate = os.path.join(os.path.dirname(sys.executable), name)
    return candidate if os.path.exists(candidate) else name


class Process:
    """A child process in its own process group, output to ``<workdir>/<name>.log``."""

    def __init__(self, name, argv, workdir, env=None):
        self.name = name
        self.argv = argv
        self.log_path = os.path.join(workdir, '%s.log' % name)
        self._log = open(self.log_path, 'wb')
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.started = time.monotonic()
        # argv is built by the benchmark itself from its own options.
        self.popen = subprocess.Popen(argv, stdout=self._log,  # noqa: S603
                                      stderr=subprocess.STDOUT, env=full_env,
                                      start_new_session=True)

    @property
    def pid(self):
        return self.popen.pid

    def alive(self):
        return self.popen.poll() is None

    def tail(self, lines=30):
        try:
            with open(self.log_path, 'rb') as f:
                return b'\n'.join(f.read().splitlines()[-lines:]).decode('utf-8', 'replace')
        except OSError:
            return ''

    def stop(self, timeout=10):
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)
        else:
            # Children of an exited leader (gunicorn workers) may still hold the group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, signal.SIGKILL)
        self._log.close()


def children(pid):
    """Direct children of ``pid`` (from /proc)."""
    result = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % entry) as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            result.append(int(entry))
    return result


_CLOCK_TICKS = os.sysconf('SC_CLK_TCK')


def cpu_seconds(pid):
    """User plus system CPU time a process has used so far (0 once it is gone)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime are the 14th and 15th fields of stat, 12th and 13th after the name.
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def pids_named(*names):
    """Pids of the processes whose command name is one of ``names`` (the services')."""
    result = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit():
            continue
        try:
            with open('/proc/%s/comm' % entry) as f:
                if f.read().strip() in names:
                    result.append(int(entry))
        except OSError:
            continue
    return result


def memory_kib(pid):
    """``(rss, pss)`` of a process in KiB (PSS counts pages shared by forked workers once)."""
    rss = pss = 0
    with contextlib.suppress(OSError):
        with open('/proc/%d/smaps_rollup' % pid) as f:
            for line in f:
                if line.startswith('Rss:'):
                    rss = int(line.split()[1])
                elif line.startswith('Pss:'):
                    pss = int(line.split()[1])
    return rss, pss


def wait_http(port, path='/', headers='', ok=(200, 300), timeout=60.0, process=None,
              interval=0.05):
    """Poll ``GET path`` until it answers with a status in ``ok``; returns seconds waited."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        if process is not None and not process.alive():
            raise BenchError('%s exited with %s before answering:\n%s'
                             % (process.name, process.popen.returncode, process.tail()))
        conn = httpclient.Connection('127.0.0.1', port, timeout=5)
        try:
            response = conn.request('GET', path, headers)
            if response.status in ok:
                return time.monotonic() - started
        except (OSError, httpclient.HTTPError):
            pass
        finally:
            conn.close()
        if time.monotonic() > deadline:
            raise BenchError('nothing answered GET %s on port %d within %ds%s'
                             % (path, port, timeout,
                                '\n' + process.tail() if process else ''))
        time.sleep(interval)


class PostgreSQL:
    """A fresh database on the local PostgreSQL, dropped on exit."""

    def __init__(self, admin_dsn=PG_ADMIN_DSN):
        try:
            import psycopg2
        except ImportError:
            raise BenchError('the deployed mode needs psycopg2: pip install "attachd[bench]"')
        self._psycopg2 = psycopg2
        self.admin_dsn = admin_dsn
        self.name = 'attachd_bench_%s' % uuid.uuid4().hex[:12]
        self._admin(['CREATE DATABASE %s' % self.name])
        base, _sep, _db = admin_dsn.rpartition('/')
        self.dsn = '%s/%s' % (base, self.name)
        self.url = self.dsn.replace('postgresql://', 'postgresql+psycopg2://', 1)

    def _admin(self, statements):
        conn = self._psycopg2.connect(self.admin_dsn)
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                for statement in statements:
                    cursor.execute(statement)
        finally:
            conn.close()

    def drop(self):
        self._admin(['DROP DATABASE IF EXISTS %s WITH (FORCE)' % self.name])


class Workdir:
    """The run's temporary directory; kept when ``keep`` (for reading the logs)."""

    def __init__(self, keep=False):
        self.path = tempfile.mkdtemp(prefix='attachd-bench-')
        self.keep = keep

    def cleanup(self):
        if not self.keep:
            shutil.rmtree(self.path, ignore_errors=True)


def write_config(path, sections):
    with open(path, 'w') as f:
        for section, options in sections.items():
            f.write('[%s]\n' % section)
            for key, value in options.items():
                f.write('%s = %s\n' % (key, value))
            f.write('\n')


def api_headers(project_id, user='bench'):
    return ('X-Auth-Token: %s:%s\r\nOpenStack-API-Version: volume 3.71\r\n'
            'Content-Type: application/json\r\nAccept: application/json\r\n'
            % (user, project_id))


def create_volumes(port, project_id, count, timeout=60.0):
    """Create ``count`` 1 GiB volumes through the API and wait until all are available."""
    headers = api_headers(project_id)
    conn = httpclient.Connection('127.0.0.1', port)
    ids = []
    for _i in range(count):
        response = conn.request('POST', '/v3/%s/volumes' % project_id, headers,
                                b'{"volume": {"size": 1}}')
        if response.status not in (200, 202):
            raise BenchError('creating a volume answered %s: %s'
                             % (response.status, response.body[:500]))
        ids.append(json.loads(response.body)['volume']['id'])
    deadline = time.monotonic() + timeout
    pending = set(ids)
    while pending:
        for volume_id in list(pending):
            response = conn.request('GET', '/v3/%s/volumes/%s' % (project_id, volume_id),
                                    headers)
            status = json.loads(response.body)['volume']['status'] \
                if response.status == 200 else response.status
            if status == 'available':
                pending.discard(volume_id)
            elif status in ('error', 404):
                raise BenchError('volume %s went %s' % (volume_id, status))
        if pending and time.monotonic() > deadline:
            raise BenchError('%d volumes still not available after %ds'
                             % (len(pending), timeout))
        if pending:
            time.sleep(0.1)
    conn.close()
    return ids
