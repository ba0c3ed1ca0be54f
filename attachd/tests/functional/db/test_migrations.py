"""The alembic migrations build exactly the schema the models describe, on every database."""

import datetime

from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import test_migrations
from oslo_serialization import jsonutils
import sqlalchemy as sa

from attachd import context
from attachd.db import migration
from attachd.db import models
from attachd.objects import volume_attachment as attachment_obj
from attachd.tests import base


class EmptyDbFixture(base.AttachdDbFixture):
    """A provisioned database with no schema: the migrations build it."""

    _BUILD_SCHEMA = False


class EmptySQLiteFixture(EmptyDbFixture):
    DRIVER = 'sqlite'


class EmptyMySQLFixture(EmptyDbFixture):
    DRIVER = 'mysql'


class EmptyPostgreSQLFixture(EmptyDbFixture):
    DRIVER = 'postgresql'


class MigrationsTestMixin:
    def get_engine(self):
        return self.engine

    def get_metadata(self):
        return models.BASE.metadata

    def db_sync(self, engine):
        migration.upgrade('head', engine=engine)

    def test_upgrade_from_empty(self):
        self.assertIsNone(migration.version(self.engine))
        migration.upgrade('head', engine=self.engine)
        self.assertEqual(migration.head(), migration.version(self.engine))
        tables = set(sa.inspect(self.engine).get_table_names())
        self.assertTrue(set(models.BASE.metadata.tables).issubset(tables))

    def test_db_sync_creates_the_default_volume_type_once(self):
        migration.upgrade('head', engine=self.engine)
        migration.upgrade('head', engine=self.engine)
        types = models.VolumeType.__table__
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(types.c.name, types.c.description,
                                          types.c.is_public)).all()
        self.assertEqual([('__DEFAULT__', 'Default Volume Type', True)],
                         [tuple(row) for row in rows])

    def test_upgrade_twice_is_harmless(self):
        migration.upgrade('head', engine=self.engine)
        migration.upgrade('head', engine=self.engine)
        self.assertEqual(migration.head(), migration.version(self.engine))


class SQLiteMigrationsTest(MigrationsTestMixin, test_migrations.ModelsMigrationsSync,
                           base.DbTestCase):
    FIXTURE = EmptySQLiteFixture


class MySQLMigrationsTest(MigrationsTestMixin, test_migrations.ModelsMigrationsSync,
                          base.DbTestCase):
    FIXTURE = EmptyMySQLFixture


class PostgreSQLMigrationsTest(MigrationsTestMixin, test_migrations.ModelsMigrationsSync,
                               base.DbTestCase):
    FIXTURE = EmptyPostgreSQLFixture


class ConnectorMigrationTestMixin:
    """0003 moves every connector into attachment_specs before it drops the column, and
    its downgrade restores the column from the rows."""

    CONNECTOR = {'host': 'compute-1', 'initiator': 'iqn.1993-08.org.debian:01:abc',
                 'wwpns': ['5001', '5002'], 'multipath': False, 'mode': 'rw'}

    def _table(self, name):
        return sa.Table(name, sa.MetaData(), autoload_with=self.engine)

    def _attachment(self, conn, attachment_id, connector, deleted=False):
        conn.execute(self._table('volume_attachment').insert().values(
            id=attachment_id, volume_id=VOLUME, attach_status='attached',
            connector=jsonutils.dumps(connector) if connector is not None else None,
            created_at=T0, deleted=deleted, deleted_at=T0 if deleted else None))

    def _specs(self, conn, attachment_id=None):
        specs = self._table('attachment_specs')
        stmt = sa.select(specs.c.attachment_id, specs.c.key, specs.c.value,
                         specs.c.deleted)
        if attachment_id is not None:
            stmt = stmt.where(specs.c.attachment_id == attachment_id)
        return {(row.attachment_id, row.key): (jsonutils.loads(row.value), row.deleted)
                for row in conn.execute(stmt)}

    def _populate(self):
        migration.upgrade('0002_default_volume_type', engine=self.engine)
        with self.engine.begin() as conn:
            conn.execute(self._table('volumes').insert().values(
                id=VOLUME, size=1, status='in-use', attach_status='attached',
                multiattach=False, bootable=False, created_at=T0, deleted=False))
            # Only the column: written by a tool that did not know the rows.
            self._attachment(conn, COLUMN_ONLY, self.CONNECTOR)
            # Both, as attachd wrote them: the rows are kept as they are.
            self._attachment(conn, BOTH, {'host': 'compute-2'})
            conn.execute(self._table('attachment_specs').insert().values(
                attachment_id=BOTH, key='host', value='"compute-2"', created_at=T0,
                deleted=False))
            self._attachment(conn, GONE, {'host': 'compute-3'}, deleted=True)
            self._attachment(conn, UNCONNECTED, None)

    def test_upgrade_copies_connectors_into_specs_then_drops_the_column(self):
        self._populate()
        migration.upgrade('head', engine=self.engine)
        columns = {c['name'] for c in sa.inspect(self.engine).get_columns(
            'volume_attachment')}
        self.assertNotIn('connector', columns)
        with self.engine.connect() as conn:
            specs = self._specs(conn)
        expected = {(COLUMN_ONLY, key): (value, False)
                    for key, value in self.CONNECTOR.items()}
        expected[(BOTH, 'host')] = ('compute-2', False)
        expected[(GONE, 'host')] = ('compute-3', True)
        self.assertEqual(expected, specs)

    def test_attachd_reads_the_copied_connector(self):
        self._populate()
        migration.upgrade('head', engine=self.engine)
        ctx = context.get_admin_context()
        attachment = attachment_obj.VolumeAttachment.get_by_id(ctx, COLUMN_ONLY)
        self.assertEqual(self.CONNECTOR, attachment.connector)
        self.assertIsNone(attachment_obj.VolumeAttachment.get_by_id(
            ctx, UNCONNECTED).connector)

    def test_downgrade_restores_the_column_from_the_specs(self):
        self._populate()
        migration.upgrade('head', engine=self.engine)
        migration.downgrade('0002_default_volume_type', engine=self.engine)
        attachments = self._table('volume_attachment')
        with self.engine.connect() as conn:
            stored = {row.id: jsonutils.loads(row.connector) if row.connector else None
                      for row in conn.execute(sa.select(attachments.c.id,
                                                        attachments.c.connector))}
        self.assertEqual({COLUMN_ONLY: self.CONNECTOR, BOTH: {'host': 'compute-2'},
                          GONE: {'host': 'compute-3'}, UNCONNECTED: None}, stored)


VOLUME = '00000000-0000-0000-0000-0000000000a1'
COLUMN_ONLY = '00000000-0000-0000-0000-000000000001'
BOTH = '00000000-0000-0000-0000-000000000002'
GONE = '00000000-0000-0000-0000-000000000003'
UNCONNECTED = '00000000-0000-0000-0000-000000000004'
T0 = datetime.datetime(2026, 1, 1)


class SQLiteConnectorMigrationTest(ConnectorMigrationTestMixin, base.DbTestCase):
    FIXTURE = EmptySQLiteFixture


class MySQLConnectorMigrationTest(ConnectorMigrationTestMixin, base.DbTestCase):
    FIXTURE = EmptyMySQLFixture


class PostgreSQLConnectorMigrationTest(ConnectorMigrationTestMixin, base.DbTestCase):
    FIXTURE = EmptyPostgreSQLFixture


class FencesMigrationTestMixin:
    """0005: one fence per host, whichever database; its downgrade deletes the fenced
    attachments, which a release without fences cannot read, and keeps the others."""

    def _table(self, name):
        return sa.Table(name, sa.MetaData(), autoload_with=self.engine)

    def test_fences_host_is_unique(self):
        migration.upgrade('head', engine=self.engine)
        fences = sa.table('fences', sa.column('host'), sa.column('created_at'))
        with self.engine.begin() as conn:
            conn.execute(sa.insert(fences).values(host='compute1'))
        with self.engine.begin() as conn:
            self.assertRaises(db_exc.DBDuplicateEntry, conn.execute,
                              sa.insert(fences).values(host='compute1'))


    def test_downgrade_deletes_the_fenced_attachments_and_the_fences(self):
        migration.upgrade('head', engine=self.engine)
        attachments = self._table('volume_attachment')
        with self.engine.begin() as conn:
            conn.execute(self._table('volumes').insert().values(
                id=VOLUME, size=1, status='in-use', attach_status='attached',
                multiattach=False, bootable=False, created_at=T0, deleted=False))
            for attachment_id, status in ((COLUMN_ONLY, 'fenced'), (BOTH, 'attached')):
                conn.execute(attachments.insert().values(
                    id=attachment_id, volume_id=VOLUME, attach_status=status,
                    attached_host='compute-1', created_at=T0, deleted=False))
            conn.execute(self._table('fences').insert().values(host='compute-1',
                                                                created_at=T0))
        migration.downgrade('0004_idempotency_keys', engine=self.engine)
        self.assertNotIn('fences', sa.inspect(self.engine).get_table_names())
        with self.engine.connect() as conn:
            rows = {row.id: (row.attach_status, bool(row.deleted), row.deleted_at is not None)
                    for row in conn.execute(sa.select(attachments))}
        self.assertEqual({COLUMN_ONLY: ('detached', True, True),
                          BOTH: ('attached', False, False)}, rows)


class SQLiteFencesMigrationTest(FencesMigrationTestMixin, base.DbTestCase):
    FIXTURE = EmptySQLiteFixture


class MySQLFencesMigrationTest(FencesMigrationTestMixin, base.DbTestCase):
    FIXTURE = EmptyMySQLFixture


class PostgreSQLFencesMigrationTest(FencesMigrationTestMixin, base.DbTestCase):
    FIXTURE = EmptyPostgreSQLFixture
