"""The [database] group: oslo.db's options, with the embedded SQLite file as default."""

from oslo_db import options as db_options


def _default_connection():
    # Left unset here: attachd.db.api derives it from state_path at first use, so that a
    # state_path given on the command line or in a file is honoured.
    return None


def register_opts(conf):
    db_options.set_defaults(conf, connection=_default_connection())


def list_opts():
    return {'database': db_options.list_opts()[0][1]}
