"""Fixtures of the API's functional tests: the real paste-loaded WSGI app, in process.

``APIFixture`` gives a fresh database (or uses the test's), a live ``attachd-manager``
service row for backend ``fake`` on host ``node``, that manager registered on the
in-process RPC path with a ``FakeDriver``, and the WSGI app built by
:func:`attachd.api.app.make_app`. ``GabbiFixture`` wraps it for gabbi YAML files.
"""

import time

import fixtures
from gabbi import fixture as gabbi_fixture
from oslo_config import fixture as config_fixture
from oslo_db.sqlalchemy import enginefacade
from oslo_db.sqlalchemy import test_fixtures
from oslo_policy import opts as policy_opts
from oslo_serialization import jsonutils
import webob

from attachd import compute
from attachd import context
from attachd import objects
from attachd import policy
from attachd.api import app as api_app
from attachd.common import rpc
from attachd.conf import CONF
from attachd.db import api as db_api
from attachd.drivers import fake
from attachd.manager import manager as manager_mod
from attachd.manager import rpcapi
from attachd.objects import service as service_obj
from attachd.tests import base
from attachd.volume import clients

HOST = 'node'
BACKEND = 'fake'
SERVER = '%s@%s' % (HOST, BACKEND)


class APIFixture(fixtures.Fixture):
    """Everything the in-process API needs; ``self.app`` is the WSGI application.

    :param own_database: make a fresh SQLite database; False when the test already set one
        up (``attachd.tests.base.DbTestCase`` and its MySQL/PostgreSQL variants).
    :param auth_strategy: ``noauth`` or ``keystone``.
    :param overrides: ``{(group, option): value}`` set before the app is loaded (options
        of library middleware, which reads them once).
    """

    def __init__(self, own_database=True, auth_strategy='noauth', with_manager=True,
                 overrides=None):
        super().__init__()
        self.overrides = overrides or {}
        self.own_database = own_database
        self.auth_strategy = auth_strategy
        self.with_manager = with_manager

    def _setUp(self):
        self.useFixture(config_fixture.Config(CONF))
        CONF([], project='attachd', default_config_files=[])
        state_path = self.useFixture(fixtures.TempDir()).path
        CONF.set_override('state_path', state_path)
        CONF.set_override('auth_strategy', self.auth_strategy, group='api')
        CONF.set_override('enabled_backends', [BACKEND])
        # No policy file: the rules in code apply.
        policy_opts.set_defaults(CONF, policy_file='attachd-test-policy.yaml')
        objects.register_all()
        if self.own_database:
            self.useFixture(DatabaseFixture(state_path))
        policy.reset()
        self.addCleanup(policy.reset)
        clients.reset()
        self.addCleanup(clients.reset)
        compute.reset()
        self.addCleanup(compute.reset)
        if self.with_manager:
            self.driver = fake.FakeDriver(CONF, BACKEND)
            self.manager = manager_mod.Manager(HOST, BACKEND, self.driver)
            rpc.register_local_manager(SERVER, self.manager)
            self.addCleanup(rpc.unregister_local_manager, SERVER)
            self.service = service_obj.Service(
                context.get_admin_context(), host=HOST, binary=rpcapi.BINARY,
                backend=BACKEND, topic=rpcapi.TOPIC,
                capabilities=self.driver.capabilities())
            self.service.create()
        for (group, name), value in self.overrides.items():
            CONF.set_override(name, value, group)
        self.app = api_app.make_app(CONF)


class DatabaseFixture(fixtures.Fixture):
    """A fresh SQLite file with attachd's schema, swapped in for the process's engine
    facade (for gabbi, which has no TestCase to hang oslo.db's provisioning on)."""

    def __init__(self, directory):
        super().__init__()
        self.directory = directory

    def _setUp(self):
        self.useFixture(fixtures.MockPatchObject(db_api, '_configured', True))
        facade = enginefacade.transaction_context()
        facade.configure(connection='sqlite:///%s/attachd-test.sqlite' % self.directory,
                         sqlite_fk=True)
        facade.append_on_engine_create(db_api.setup_engine)
        engine = facade.writer.get_engine()
        base.create_schema(engine)
        self.addCleanup(engine.dispose)
        self.useFixture(test_fixtures.ReplaceEngineFacadeFixture(
            db_api.main_context_manager, facade))


class GabbiFixture(gabbi_fixture.GabbiFixture):
    """A fresh API for each gabbi YAML file (gabbi runs a file's tests in order)."""

    def start_fixture(self):
        self._fixture = APIFixture()
        self._fixture.setUp()
        GabbiFixture.current = self._fixture

    def stop_fixture(self):
        self._fixture.cleanUp()


class Client:
    """Plain HTTP calls on a WSGI app (no network), as a caller of the API makes them.

    :param token: the noauth token ``user:project``.
    :param version: the volume microversion sent, or None for none.
    :param service: send Nova's service token too (``X-Service-Token: nova:service``).
    """

    def __init__(self, app, token='alice:aaaaaaaa', version='3.44', service=False):
        self.app = app
        self.token = token
        self.version = version
        self.service = service

    def request(self, method, path, body=None, headers=None):
        req = webob.Request.blank(path, method=method)
        req.headers['X-Auth-Token'] = self.token
        if self.version:
            req.headers['OpenStack-API-Version'] = 'volume %s' % self.version
        if self.service:
            req.headers['X-Service-Token'] = 'nova:service'
        if body is not None:
            req.content_type = 'application/json'
            req.body = jsonutils.dump_as_bytes(body)
        for key, value in (headers or {}).items():
            req.headers[key] = value
        return req.get_response(self.app)

    def get(self, path, **kw):
        return self.request('GET', path, **kw)

    def post(self, path, body, **kw):
        return self.request('POST', path, body, **kw)

    def put(self, path, body, **kw):
        return self.request('PUT', path, body, **kw)

    def delete(self, path, **kw):
        return self.request('DELETE', path, **kw)

    def create_volume(self, wait=True, **values):
        """Create a volume and wait until it is available; returns its view."""
        values.setdefault('size', 1)
        response = self.post('/v3/volumes', {'volume': values})
        assert response.status_int == 202, response.text
        volume = response.json['volume']
        deadline = time.monotonic() + 10
        while wait and volume['status'] != 'available':
            assert time.monotonic() < deadline, volume
            time.sleep(0.02)
            volume = self.get('/v3/volumes/%s' % volume['id']).json['volume']
        return volume

    def volume_status(self, volume_id):
        return self.get('/v3/volumes/%s' % volume_id).json['volume']['status']
