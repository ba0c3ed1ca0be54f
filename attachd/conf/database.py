"""The [database] group: oslo.db's options, defaulting to the embedded SQLite file.

oslo.db registers and documents the options (namespace ``oslo.db`` in the sample config);
attachd sets the default connection, interpolated from ``[DEFAULT] state_path``, and the
default pool size.
"""

from oslo_config import cfg
from oslo_db import options as db_options

DEFAULT_CONNECTION = 'sqlite:///$state_path/attachd.sqlite'

# oslo.db keeps 5 connections per process and closes every further one when it is checked
# in, but an API worker runs 8 to 16 request threads and a manager 16: under load each
# process then opened and closed a PostgreSQL connection (a new server process) several
# times a second (0.7 sessions per attach cycle at 16 clients in attachd-bench, 35 a second).
# 0 keeps every connection a process opened: as many as it ever had threads using the
# database at once. (SQLAlchemy ignores max_overflow with a pool size of 0: the threads are
# the bound.)
DEFAULT_MAX_POOL_SIZE = 0


def register_opts(conf):
    # The default goes on the option objects, not on ``conf``: a configuration reset (as
    # test fixtures do) would forget a ``conf``-level default.
    cfg.set_defaults(db_options.database_opts, connection=DEFAULT_CONNECTION,
                     max_pool_size=DEFAULT_MAX_POOL_SIZE)
    db_options.set_defaults(conf)


def list_opts():
    return {}
