"""How attachd uses its database connections.

- The pool oslo.db builds from attachd's [database] defaults keeps the connections a
  process opened (attachd.conf.database.DEFAULT_MAX_POOL_SIZE). With oslo.db's own default
  of 5, a process running more threads than that closed every further connection at
  check-in and opened a new one (a new PostgreSQL server process) for its next
  transaction: under the benchmark's 16 clients, 0.7 new sessions per attach cycle.
- Single-statement reads on psycopg2 run in autocommit mode, without psycopg2's BEGIN and
  ROLLBACK round trips and without a SET of the isolation level
  (attachd.db.api._reader_connection), and leave the pooled connection transactional for
  the next user.
"""

import threading
import time

from oslo_db import exception as db_exc
from oslo_db.sqlalchemy import enginefacade
import sqlalchemy as sa

from attachd import context
from attachd.conf import CONF
from attachd.db import api as db_api
from attachd.db import models
from attachd.tests import base

THREADS = 12


class PoolKeepsConnectionsMixin:

    def test_connections_of_concurrent_threads_are_kept(self):
        self.assertEqual(0, CONF.database.max_pool_size)
        facade = enginefacade.transaction_context()
        facade.configure(connection=self.engine.url.render_as_string(hide_password=False),
                         **db_api.FACADE_OPTIONS)
        engine = facade.writer.get_engine()
        self.addCleanup(engine.dispose)
        barrier = threading.Barrier(THREADS)
        backends = set()
        lock = threading.Lock()

        def transaction():
            with engine.connect() as conn:
                pid = conn.exec_driver_sql(self.BACKEND_ID).scalar()
                with lock:
                    backends.add(pid)
                # Every thread holds its connection at once.
                barrier.wait(timeout=30)

        def run_all():
            threads = [threading.Thread(target=transaction) for _i in range(THREADS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)

        run_all()
        self.assertEqual(THREADS, len(backends))
        self.assertEqual(THREADS, engine.pool.checkedin())
        first = set(backends)
        backends.clear()
        run_all()
        # The same server sessions served the second round: none was closed and reopened.
        self.assertEqual(first, backends)


class PostgreSQLPoolTest(PoolKeepsConnectionsMixin, base.PostgreSQLMixin, base.DbTestCase):
    BACKEND_ID = 'SELECT pg_backend_pid()'


class MySQLPoolTest(PoolKeepsConnectionsMixin, base.MySQLMixin, base.DbTestCase):
    BACKEND_ID = 'SELECT CONNECTION_ID()'


class ReadWithoutTransactionTest(base.PostgreSQLMixin, base.DbTestCase):

    def setUp(self):
        super().setUp()
        self.ctx = context.get_admin_context()

    @staticmethod
    def _autocommit(conn):
        return conn.connection.dbapi_connection.autocommit

    def test_a_read_alone_runs_in_autocommit(self):
        import psycopg2.extensions as pg_ext
        with db_api._reader_connection(self.ctx) as conn:
            dbapi_connection = conn.connection.dbapi_connection
            self.assertTrue(self._autocommit(conn))
            self.assertFalse(conn.exec_driver_sql(
                "SELECT now() <> statement_timestamp() OR now() IS NULL").scalar())
            # No transaction was opened (no BEGIN, nothing to roll back) ...
            self.assertEqual(pg_ext.TRANSACTION_STATUS_IDLE,
                             dbapi_connection.get_transaction_status())
        # ... and no isolation level was set on the connection: psycopg2 would send
        # SET default_transaction_isolation at every switch of autocommit.
        self.assertIsNone(dbapi_connection.isolation_level)
        self.assertFalse(dbapi_connection.autocommit)

    def test_the_connection_is_transactional_again_after_it(self):
        # One connection in the pool: the writer gets the one the read used.
        self.engine.pool.dispose()
        with db_api._reader_connection(self.ctx) as conn:
            reader_dbapi = conn.connection.dbapi_connection
        volume_types = models.VolumeType.__table__

        class Boom(Exception):
            pass

        try:
            with db_api._writer_connection(self.ctx) as conn:
                self.assertIs(reader_dbapi, conn.connection.dbapi_connection)
                self.assertFalse(self._autocommit(conn))
                conn.execute(volume_types.delete())
                raise Boom()
        except Boom:
            pass
        with self.engine.connect() as conn:
            self.assertEqual(1, conn.execute(
                sa.select(sa.func.count()).select_from(volume_types)).scalar())

    def test_inside_a_transaction_it_joins_it(self):
        with db_api._writer_connection(self.ctx) as writer:
            with db_api._reader_connection(self.ctx) as conn:
                self.assertIs(writer, conn)
                self.assertFalse(self._autocommit(conn))


class PingOnlyIdleConnectionsMixin:
    """The pool pings a connection at checkout only when it was idle for
    ``PING_AFTER_IDLE_SECONDS`` (attachd.db.api._ping_only_idle_connections)."""

    def setUp(self):
        super().setUp()
        self.ctx = context.get_admin_context()
        self.admin_conn = self.engine.connect()
        self.addCleanup(self.admin_conn.close)

    def _server_id(self):
        with db_api._reader_connection(self.ctx) as conn:
            return conn.exec_driver_sql(self.BACKEND_ID).scalar()

    def _kill(self, server_id):
        self.admin_conn.exec_driver_sql(self.KILL % server_id)
        if self.admin_conn.in_transaction():
            self.admin_conn.commit()

    def test_a_connection_idle_for_longer_is_pinged_and_replaced(self):
        self.engine.pool.dispose()
        server_id = self._server_id()
        self._kill(server_id)
        time.sleep(db_api.PING_AFTER_IDLE_SECONDS + 0.2)
        self.assertNotEqual(server_id, self._server_id())

    def test_a_connection_just_used_is_not_pinged(self):
        self.engine.pool.dispose()
        server_id = self._server_id()
        self._kill(server_id)
        # The dead connection is used without a ping: the statement fails ...
        self.assertRaises(db_exc.DBConnectionError, self._server_id)
        # ... and the pool replaces it (and every connection opened before the failure).
        self.assertNotEqual(server_id, self._server_id())


class PostgreSQLPingTest(PingOnlyIdleConnectionsMixin, base.PostgreSQLMixin,
                         base.DbTestCase):
    BACKEND_ID = 'SELECT pg_backend_pid()'
    KILL = 'SELECT pg_terminate_backend(%d)'


class MySQLPingTest(PingOnlyIdleConnectionsMixin, base.MySQLMixin, base.DbTestCase):
    BACKEND_ID = 'SELECT CONNECTION_ID()'
    KILL = 'KILL %d'
