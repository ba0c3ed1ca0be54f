"""attachd's SQLite engine settings on top of oslo.db's: transactions start with BEGIN
IMMEDIATE, through oslo.db's own "in transaction" marker.

attachd's "begin" listener runs before oslo.db's and sets the marker oslo.db's listener
checks; these tests fail if oslo.db stops honouring the marker (its plain BEGIN would then
follow attachd's: "cannot start a transaction within a transaction"), stops clearing it on
commit (the next transaction would run without BEGIN), or renames it.
"""

import os
import sqlite3

from oslo_db.sqlalchemy import engines
import sqlalchemy as sa

from attachd.db import api as db_api
from attachd.tests import base


class SqliteBeginTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.path = os.path.join(self.state_path, 'begin.sqlite')
        self.engine = engines.create_engine('sqlite:///%s' % self.path,
                                            **db_api.FACADE_OPTIONS)
        self.addCleanup(self.engine.dispose)
        db_api.setup_engine(self.engine)

    def another_writer_can_start(self):
        other = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        try:
            other.execute('BEGIN IMMEDIATE')
            other.execute('ROLLBACK')
            return True
        except sqlite3.OperationalError as exc:
            self.assertIn('locked', str(exc))
            return False
        finally:
            other.close()

    def test_a_transaction_holds_the_write_lock_from_its_start(self):
        for _attempt in range(2):  # the second transaction proves commit cleared the marker
            with self.engine.begin() as conn:
                conn.execute(sa.text('SELECT 1'))
                self.assertTrue(conn.info[db_api.SQLITE_TRANSACTION_MARKER])
                self.assertFalse(self.another_writer_can_start())
            self.assertTrue(self.another_writer_can_start())

    def test_oslo_db_gives_sqlite_files_a_null_pool(self):
        # What db_api._keep_sqlite_connections replaces (see its measurement).
        engine = engines.create_engine('sqlite:///%s' % self.path, **db_api.FACADE_OPTIONS)
        self.addCleanup(engine.dispose)
        self.assertIsInstance(engine.pool, sa.pool.NullPool)
        self.assertIsInstance(self.engine.pool, sa.pool.QueuePool)

    def test_oslo_db_alone_begins_deferred(self):
        # The library behaviour attachd's listener replaces: a plain BEGIN takes no lock
        # until the first write.
        engine = engines.create_engine('sqlite:///%s' % self.path, **db_api.FACADE_OPTIONS)
        self.addCleanup(engine.dispose)
        with engine.begin() as conn:
            conn.execute(sa.text('SELECT 1'))
            self.assertTrue(conn.info[db_api.SQLITE_TRANSACTION_MARKER])
            self.assertTrue(self.another_writer_can_start())

    def test_the_engine_class_listener_runs_before_oslo_dbs(self):
        # SQLAlchemy runs listeners of the Engine class before an engine's own (oslo.db's
        # are an engine's), even one the engine asked to insert first.
        order = []
        engine = engines.create_engine('sqlite:///%s' % self.path, **db_api.FACADE_OPTIONS)
        self.addCleanup(engine.dispose)
        sa.event.listen(engine, 'begin', lambda conn: order.append('engine'), insert=True)

        def on_class(conn):
            if conn.engine is engine:
                order.append('class')
        sa.event.listen(sa.engine.Engine, 'begin', on_class)
        self.addCleanup(sa.event.remove, sa.engine.Engine, 'begin', on_class)
        with engine.begin() as conn:
            conn.execute(sa.text('SELECT 1'))
        self.assertEqual(['class', 'engine'], order)


class SqliteKeptConnectionTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.path = os.path.join(self.state_path, 'kept.sqlite')
        self.engine = engines.create_engine('sqlite:///%s' % self.path,
                                            **db_api.FACADE_OPTIONS)
        self.addCleanup(self.engine.dispose)
        db_api.setup_engine(self.engine)

    def test_transactions_reuse_one_connection(self):
        seen = []
        for _attempt in range(3):
            with self.engine.begin() as conn:
                seen.append(conn.connection.driver_connection)
        self.assertIs(seen[0], seen[1])
        self.assertIs(seen[0], seen[2])

    def test_a_kept_connection_has_oslo_dbs_and_attachds_settings(self):
        with self.engine.begin() as conn:
            # oslo.db's connect listener: foreign keys (sqlite_fk) and its REGEXP function.
            self.assertEqual(1, conn.exec_driver_sql('PRAGMA foreign_keys').scalar())
            self.assertEqual(1, conn.exec_driver_sql("SELECT 'abc' REGEXP 'b'").scalar())
            # attachd's (setup_engine).
            self.assertEqual('wal', conn.exec_driver_sql('PRAGMA journal_mode').scalar())
            self.assertEqual(30000, conn.exec_driver_sql('PRAGMA busy_timeout').scalar())

    def test_a_failed_transaction_leaves_the_connection_usable(self):
        try:
            with self.engine.begin() as conn:
                conn.exec_driver_sql('CREATE TABLE t (x INTEGER)')
                raise ValueError()
        except ValueError:
            pass
        with self.engine.begin() as conn:
            self.assertIsNone(conn.exec_driver_sql(
                "SELECT name FROM sqlite_master WHERE name = 't'").scalar())
