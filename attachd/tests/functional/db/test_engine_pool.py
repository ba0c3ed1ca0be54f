"""The connection pool oslo.db builds from attachd's [database] defaults keeps the
connections a process opened (attachd.conf.database.DEFAULT_MAX_POOL_SIZE).

With oslo.db's own default of 5, a process running more threads than that closed every
further connection at check-in and opened a new one (a new PostgreSQL server process) for
its next transaction: under the benchmark's 16 clients, 0.7 new sessions per attach cycle.
"""

import threading

from oslo_db.sqlalchemy import enginefacade

from attachd.conf import CONF
from attachd.db import api as db_api
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
