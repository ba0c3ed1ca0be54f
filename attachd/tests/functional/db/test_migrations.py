"""The alembic migrations build exactly the schema the models describe, on every database."""

from oslo_db.sqlalchemy import test_migrations
import sqlalchemy as sa

from attachd.db import migration
from attachd.db import models
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
