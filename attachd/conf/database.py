"""The [database] group: oslo.db's options, defaulting to the embedded SQLite file.

oslo.db registers and documents the options (namespace ``oslo.db`` in the sample config);
attachd only sets the default connection, interpolated from ``[DEFAULT] state_path``.
"""

from oslo_config import cfg
from oslo_db import options as db_options

DEFAULT_CONNECTION = 'sqlite:///$state_path/attachd.sqlite'


def register_opts(conf):
    # The default goes on the option objects, not on ``conf``: a configuration reset (as
    # test fixtures do) would forget a ``conf``-level default.
    cfg.set_defaults(db_options.database_opts, connection=DEFAULT_CONNECTION)
    db_options.set_defaults(conf)


def list_opts():
    return {}
