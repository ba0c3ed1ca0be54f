"""Helpers of the tests that run attachd's commands as separate processes and talk HTTP."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

import fixtures

from attachd.tests import base

PROJECT = uuid.uuid4().hex
MICROVERSION = 'volume 3.54'


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def console_script(name):
    """Path of one of attachd's console scripts in this Python's environment."""
    return os.path.join(os.path.dirname(sys.executable), name)


class HttpError(Exception):
    def __init__(self, status, body):
        super().__init__('%s %s' % (status, body))
        self.status = status
        self.body = body


class Client:
    """A tiny Block Storage API client (noauth: ``X-Auth-Token: user:project``)."""

    def __init__(self, endpoint, project=PROJECT, user='user', timeout=30):
        self.endpoint = endpoint.rstrip('/')
        self.project = project
        self.token = '%s:%s' % (user, project)
        self.timeout = timeout

    def request(self, method, path, body=None, expect=(200, 202, 204), headers=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request('%s/v3/%s%s' % (self.endpoint, self.project, path),
                                     data=data, method=method)
        req.add_header('X-Auth-Token', self.token)
        req.add_header('OpenStack-API-Version', MICROVERSION)
        if data is not None:
            req.add_header('Content-Type', 'application/json')
        for name, value in (headers or {}).items():
            req.add_header(name, value)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        payload = json.loads(raw) if raw else None
        if status not in expect:
            raise HttpError(status, payload)
        return payload

    def wait_volume(self, volume_id, status, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            volume = self.request('GET', '/volumes/%s' % volume_id)['volume']
            if volume['status'] == status:
                return volume
            if time.monotonic() > deadline:
                raise AssertionError('volume %s is %s, not %s' % (volume_id,
                                                                 volume['status'], status))
            time.sleep(0.05)

    def create_volume(self, size=1, volume_type=None):
        body = {'volume': {'size': size, 'name': 'functional'}}
        if volume_type:
            body['volume']['volume_type'] = volume_type
        volume = self.request('POST', '/volumes', body)['volume']
        return self.wait_volume(volume['id'], 'available')

    def attach(self, volume_id, connector, instance=None):
        """Create an attachment with a connector and complete it: the volume is in-use."""
        attachment = self.request('POST', '/attachments', {'attachment': {
            'volume_uuid': volume_id, 'instance_uuid': instance or str(uuid.uuid4()),
            'connector': connector}})['attachment']
        self.request('POST', '/attachments/%s/action' % attachment['id'],
                     {'os-complete': None})
        return attachment

    def detach(self, attachment_id):
        """Delete an attachment as Nova does, with a service token (the OSSA-2023-003
        rule refuses the owner alone while the attachment is connected)."""
        return self.request('DELETE', '/attachments/%s' % attachment_id,
                            headers={'X-Service-Roles': 'service'})


def wait_http(url, timeout=30, process=None):
    """Poll ``url`` until it answers; returns the seconds it took."""
    start = time.monotonic()
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return time.monotonic() - start
        except urllib.error.HTTPError:
            return time.monotonic() - start
        except OSError:
            pass
        if process is not None and process.poll() is not None:
            raise AssertionError('%s exited with %s' % (process.args, process.returncode))
        if time.monotonic() - start > timeout:
            raise AssertionError('%s did not answer within %s s' % (url, timeout))
        time.sleep(0.02)


class ProcessMixin:
    """Starts attachd commands as child processes and stops them at cleanup."""

    def setUp(self):
        super().setUp()
        self.workdir = self.useFixture(fixtures.TempDir()).path

    def write_config(self, text, name='attachd.conf'):
        path = os.path.join(self.workdir, name)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def spawn(self, args, name, env=None):
        log = open(os.path.join(self.workdir, '%s.log' % name), 'wb')
        self.addCleanup(log.close)
        full_env = dict(os.environ, PYTHONWARNINGS='ignore')
        full_env.update(env or {})
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT,
                                   env=full_env, start_new_session=True)
        self.addCleanup(self.stop, process)
        self.watch_log(name, log.name)
        return process

    def watch_log(self, name, path):
        """Show the log file ``path`` of process ``name`` among a failing test's details."""
        self.addOnException(lambda exc_info: self.addDetail('%s.log' % name,
                                                            log_detail(path)))

    @staticmethod
    def stop(process, sig=signal.SIGTERM, timeout=15):
        if process.poll() is not None:
            return process.returncode
        process.send_signal(sig)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(5)


class ProcessTestCase(ProcessMixin, base.TestCase):
    """A test of attachd's commands without a test database of its own."""


def log_detail(path):
    """The content of a log file, read now, as a testtools detail."""
    from testtools import content
    return content.content_from_file(path, buffer_now=True)
