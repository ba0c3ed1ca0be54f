"""The [database] group: oslo.db's options, defaulting to the embedded SQLite file.

oslo.db registers and documents the options (namespace ``oslo.db`` in the sample config);
attachd only sets the default connection, interpolated from ``[DEFAULT] state_path``.
"""

from oslo_db import options as db_options

DEFAULT_CONNECTION = 'sqlite:///$state_path/attachd.sqlite'


def register_opts(conf):
    db_options.set_defaults(conf, connection=DEFAULT_CONNECTION)


def list_opts():
    return {}
