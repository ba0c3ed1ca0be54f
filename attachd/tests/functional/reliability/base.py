"""Helpers of the reliability tests: an HTTP client for the in-process WSGI app, volumes,
concurrent callers, and the invariant every test ends with (the volume's status is the one
its live attachments imply, and the backend exports exactly what they own).
"""

import threading
import time

import fixtures
from oslo_serialization import jsonutils
from oslo_utils import uuidutils
import sqlalchemy as sa
import webob

from attachd import context
from attachd.db import api as db_api
from attachd.db import models
from attachd.objects import fields
from attachd.objects import volume as volume_obj
from attachd.objects import volume_attachment as attachment_obj
from attachd.tests import base
from attachd.tests.functional import fixtures as api_fixtures

VolumeStatus = fields.VolumeStatus
AttachStatus = fields.VolumeAttachStatus

PROJECT_A = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
PROJECT_B = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'
RESERVE_MESSAGE = 'status must be available or downloading to reserve'

# Cinder's fault body keys (spec 1.7), by status.
FAULT_KEYS = {400: 'badRequest', 401: 'unauthorized', 403: 'forbidden',
              404: 'itemNotFound', 405: 'badMethod', 409: 'conflictingRequest',
              413: 'overLimit', 415: 'badMediaType', 422: 'unprocessableEntity',
              501: 'notImplemented',
              503: 'serviceUnavailable'}


def instance(i):
    return '00000000-0000-4000-8000-%012d' % i


def connector(i=1, **extra):
    value = {'host': 'compute%d' % i, 'initiator': 'iqn.2026-01.org.example:compute%d' % i,
             'ip': '127.0.0.1', 'platform': 'x86_64', 'os_type': 'linux',
             'multipath': False}
    value.update(extra)
    return value


class Response:
    """What a test looks at in an HTTP answer."""

    def __init__(self, webob_response):
        self.status = webob_response.status_int
        self.headers = webob_response.headers
        self.body = webob_response.body
        self.content_type = webob_response.content_type
        try:
            self.json = jsonutils.loads(self.body) if self.body else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return '<%d %r>' % (self.status, self.body[:500])


# Nova's service token under noauth, sent with the user's token.
NOVA_SERVICE_TOKEN = {'X-Service-Token': 'nova:service'}


class Client:
    """Sends requests straight into the WSGI app (no socket), from any thread.

    :param token: ``X-Auth-Token`` (``user:project`` under noauth).
    :param roles: ``X-Roles`` as noauth reads it (as keystonemiddleware would set it).
    """

    def __init__(self, app, token='user:%s' % PROJECT_A, version='3.71', roles=None,
                 headers=None):
        self.app = app
        self.headers = {'X-Auth-Token': token}
        if version:
            self.headers['OpenStack-API-Version'] = 'volume %s' % version
        if roles:
            self.headers['X-Roles'] = roles
        self.headers.update(headers or {})

    def request(self, method, path, body=None, raw=None, headers=None,
                content_type='application/json'):
        all_headers = dict(self.headers)
        all_headers.update(headers or {})
        req = webob.Request.blank('/v3' + path, method=method, headers=all_headers)
        if raw is not None:
            req.body = raw
        elif body is not None:
            req.body = jsonutils.dump_as_bytes(body)
        if raw is not None or body is not None:
            req.content_type = content_type
        return Response(req.get_response(self.app))

    def get(self, path, **kw):
        return self.request('GET', path, **kw)

    def post(self, path, body=None, **kw):
        return self.request('POST', path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request('PUT', path, body, **kw)

    def delete(self, path, **kw):
        return self.request('DELETE', path, **kw)

    # Attachment calls as Nova makes them.
    def create(self, volume_id, instance_uuid=None, connector=None):
        body = {'volume_uuid': volume_id}
        if instance_uuid:
            body['instance_uuid'] = instance_uuid
        if connector is not None:
            body['connector'] = connector
        return self.post('/attachments', {'attachment': body})

    def update(self, attachment_id, connector):
        return self.put('/attachments/%s' % attachment_id,
                        {'attachment': {'connector': connector}})

    def complete(self, attachment_id):
        return self.post('/attachments/%s/action' % attachment_id, {'os-complete': None})

    def remove(self, attachment_id):
        return self.delete('/attachments/%s' % attachment_id)


def run_concurrently(callables, timeout=120):
    """Start every callable at the same moment (a barrier) and return their results (or
    the exception each raised), in order. Fails when one is still running after
    ``timeout`` seconds."""
    barrier = threading.Barrier(len(callables))
    results = [None] * len(callables)

    def run(i, function):
        try:
            barrier.wait(timeout=30)
            results[i] = function()
        except BaseException as exc:  # noqa: B036 - reported to the test
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, f), daemon=True)
               for i, f in enumerate(callables)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
        if t.is_alive():
            raise AssertionError('a concurrent caller did not finish within %s s' % timeout)
    return results


wait_for = base.wait_for


class ApiMixin:
    """The paste-loaded API in process, with a fake-driver manager, on whatever database
    the test set up before calling :meth:`start_api`; helpers to look at the result."""

    auth_strategy = 'noauth'
    #: ``{(group, option): value}`` set before the app is loaded.
    overrides = {}

    def start_api(self):
        self.api = self.useFixture(api_fixtures.APIFixture(
            own_database=False, auth_strategy=self.auth_strategy,
            overrides=self.overrides))
        self.app = self.api.app
        self.admin_ctx = context.get_admin_context()
        self.client = Client(self.app)
        # Nova: a member of the project with a service token.
        self.nova = Client(self.app, headers=NOVA_SERVICE_TOKEN)

    def volume(self, project_id=PROJECT_A, multiattach=False,
               status=VolumeStatus.AVAILABLE, host=api_fixtures.SERVER):
        vol = volume_obj.Volume(self.admin_ctx, size=1, project_id=project_id,
                                user_id='user', status=status,
                                attach_status=AttachStatus.DETACHED,
                                multiattach=multiattach, host=host,
                                availability_zone='nova')
        vol.create()
        return vol

    def reload(self, volume_id):
        return volume_obj.Volume.get_by_id(self.admin_ctx, volume_id, project_only=False)

    def live_attachments(self, volume_id):
        return list(attachment_obj.VolumeAttachmentList.get_all_by_volume(self.admin_ctx,
                                                                          volume_id))

    def all_attachment_rows(self, volume_id):
        """Every attachment row of the volume, soft-deleted ones included."""
        with db_api.main_context_manager.reader.using(self.admin_ctx) as session:
            return list(session.scalars(sa.select(models.VolumeAttachment).where(
                models.VolumeAttachment.volume_id == volume_id)))

    def assertFault(self, response, status, message=None):
        """``response`` has ``status`` and Cinder's fault body (and ``message`` in it)."""
        self.assertEqual(status, response.status, response)
        self.assertEqual('application/json', response.content_type, response)
        key = FAULT_KEYS.get(status, 'computeFault')
        self.assertEqual([key], list(response.json), response)
        self.assertEqual(status, response.json[key]['code'])
        self.assertIsInstance(response.json[key]['message'], str)
        if message is not None:
            self.assertIn(message, response.json[key]['message'])
        self.assertNotIn(b'Traceback', response.body)

    def assertConsistent(self, volume_id, driver=None):
        """The volume's status is what its live attachments imply (Cinder's precedence),
        and the backend exports the volume to exactly the hosts of the connected ones."""
        live = self.live_attachments(volume_id)
        statuses = {a.attach_status for a in live}
        expected = AttachStatus.DETACHED
        for candidate in AttachStatus.PRECEDENCE:
            if candidate in statuses:
                expected = candidate
                break
        volume = self.reload(volume_id)
        self.assertEqual(expected, volume.attach_status,
                         'attachments %s' % [(a.id, a.attach_status) for a in live])
        self.assertEqual(fields.volume_status_for(expected), volume.status)
        driver = driver or self.api.driver
        connected = {a.connection_key for a in live if a.connector}
        exported = volume_id in driver.list_exports()
        self.assertEqual(bool(connected), exported,
                         'export of %s with connections %s' % (volume_id, connected))
        self.assertEqual(connected, driver.connections.get(volume_id, set()))
        return volume, live


class ApiTestCase(ApiMixin, base.DbTestCase):
    """:class:`ApiMixin` on the test's database: SQLite unless a mixin of
    :mod:`attachd.tests.base` picks MySQL or PostgreSQL."""

    def setUp(self):
        super().setUp()
        self.start_api()


def new_uuid():
    return uuidutils.generate_uuid()


class FakeLoggerMixin:
    """Capture every log record at DEBUG (what an operator's log file would hold)."""

    def capture_logs(self):
        return self.useFixture(fixtures.FakeLogger(level='DEBUG', format='%(message)s'))
