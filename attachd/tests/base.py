"""Base test classes and fixtures shared by unit and functional tests.

Tests that need PostgreSQL, MySQL, RabbitMQ or tgtd use them when they answer on 127.0.0.1
and skip otherwise, unless ``ATTACHD_TEST_REQUIRE_SERVICES=1`` is set (as ``.ci/run`` does):
then a missing service fails the test.
"""

import datetime
import os
import socket
import time

import fixtures
from oslo_config import fixture as config_fixture
from oslo_db.sqlalchemy import test_fixtures
from oslo_utils import timeutils
from oslo_utils import uuidutils
from oslotest import base

from attachd import context as a_context
from attachd.conf import CONF
from attachd.db import api as db_api
from attachd.db import models

RABBIT_URL = 'rabbit://guest:guest@127.0.0.1:5672/'


def services_required():
    """True when a missing service must fail the run instead of skipping."""
    return os.environ.get('ATTACHD_TEST_REQUIRE_SERVICES') == '1'


def port_open(port, host='127.0.0.1', timeout=1.0):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def need_service(testcase, name, available):
    """Skip ``testcase`` when ``available`` is false, or fail it when services are required."""
    if available:
        return
    message = '%s is not available on this machine' % name
    if services_required():
        testcase.fail(message + ' and ATTACHD_TEST_REQUIRE_SERVICES=1')
    testcase.skipTest(message)


def wait_for(predicate, timeout=15, interval=0.02):
    """Poll ``predicate`` until it returns something true (returned); fail after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError('condition not met within %s s' % timeout)
        time.sleep(interval)


def backdate_attachment(context, attachment_id, seconds):
    """Make an attachment look created and last changed ``seconds`` ago."""
    old = db_api.utcnow() - datetime.timedelta(seconds=seconds)
    with db_api.main_context_manager.writer.using(context) as session:
        session.execute(models.VolumeAttachment.__table__.update()
                        .where(models.VolumeAttachment.id == attachment_id)
                        .values(created_at=old, updated_at=old))


def need_rabbit(testcase):
    need_service(testcase, 'RabbitMQ on 127.0.0.1:5672', port_open(5672))


class TestCase(base.BaseTestCase):
    """Base of every attachd test: isolated configuration and state directory."""

    def setUp(self):
        super().setUp()
        self.conf = self.useFixture(config_fixture.Config(CONF)).conf
        CONF([], project='attachd', default_config_files=[])
        # keystonemiddleware's options, which the API registers on first use
        # (attachd.context.service_token_roles): tests may override them before that.
        # The library's own, loaded first: tests of both auth strategies share a process,
        # and noauth's copy of the option, registered first, would refuse the library's.
        CONF.import_group('keystone_authtoken', 'keystonemiddleware.auth_token')
        a_context.service_token_roles()
        self.state_path = self.useFixture(fixtures.TempDir()).path
        self.flags(state_path=self.state_path)

    def flags(self, group=None, **kw):
        """Override configuration options for this test."""
        for name, value in kw.items():
            CONF.set_override(name, value, group)


def create_schema(engine):
    """attachd's tables from the models, with the rows ``db sync`` adds to them (the
    default volume type ``__DEFAULT__``): what a test database starts from."""
    models.BASE.metadata.create_all(engine)
    now = timeutils.utcnow().replace(tzinfo=None)
    with engine.begin() as conn:
        conn.execute(models.VolumeType.__table__.insert().values(
            id=uuidutils.generate_uuid(), name='__DEFAULT__',
            description='Default Volume Type', is_public=True, deleted=False,
            created_at=now, updated_at=now))


class AttachdDbFixture(test_fixtures.OpportunisticDbFixture):
    """A fresh database with attachd's schema per test, through oslo.db's provisioning."""

    _BUILD_SCHEMA = True

    def get_enginefacade(self):
        return db_api.main_context_manager

    def generate_schema_create_all(self, engine):
        db_api.setup_engine(engine)
        create_schema(engine)

    def _setUp(self):
        # The provisioned facade replaces the configured one for the test.
        self.useFixture(fixtures.MockPatchObject(db_api, '_configured', True))
        super()._setUp()


def _empty_tables(engine):
    """Delete every row, referencing tables first."""
    with engine.begin() as conn:
        for table in reversed(models.BASE.metadata.sorted_tables):
            conn.execute(table.delete())


class SQLiteDbFixture(AttachdDbFixture):
    DRIVER = 'sqlite'

    def _setUp(self):
        super()._setUp()
        if self._has_db_resource():
            # oslo.db drops SQLite tables in name order with foreign keys enforced
            # (setup_engine): volume_types would go before the volumes that reference
            # __DEFAULT__, the drop would fail and the next test would inherit the rows.
            self.addCleanup(_empty_tables, self._get_provisioned_db().engine)


class MySQLDbFixture(AttachdDbFixture):
    DRIVER = 'mysql'


class PostgreSQLDbFixture(AttachdDbFixture):
    DRIVER = 'postgresql'


class DbTestCase(test_fixtures.OpportunisticDBTestMixin, TestCase):
    """A test with a database; SQLite unless a subclass names another FIXTURE."""

    FIXTURE = SQLiteDbFixture

    @property
    def SKIP_ON_UNAVAILABLE_DB(self):
        return not services_required()

    def setUp(self):
        super().setUp()
        self.engine = db_api.main_context_manager.writer.get_engine()
        if self.engine.dialect.name == 'sqlite':
            self.addCleanup(_plain_sqlite_begin, self.engine)


def _plain_sqlite_begin(engine):
    """Undo attachd's BEGIN IMMEDIATE before oslo.db drops the test database: its
    provisioning inspects the schema on a second connection while the first holds a
    transaction, which would wait on itself."""
    db_api.plain_sqlite_begin(engine)


class MySQLMixin:
    FIXTURE = MySQLDbFixture


class PostgreSQLMixin:
    FIXTURE = PostgreSQLDbFixture
