"""Schema migrations: alembic, with its scripts in the top-level ``alembic/`` folder."""

import os
import sys

from alembic import command as alembic_command
from alembic import config as alembic_config
from alembic import migration as alembic_migration
from attachd.db import api as db_api


def _script_location():
    """The alembic folder: the source tree's, or the installed copy under share/."""
    candidates = [
        os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__)))), 'alembic'),
        os.path.join(sys.prefix, 'share', 'attachd', 'alembic'),
    ]
    for path in candidates:
        if os.path.isfile(os.path.join(path, 'env.py')):
            return path
    raise RuntimeError('attachd alembic scripts not found in %s' % candidates)


def _alembic_config(connection=None):
    config = alembic_config.Config()
    config.set_main_option('script_location', _script_location())
    config.attributes['connection'] = connection
    return config


def upgrade(revision='head', engine=None):
    """Create or upgrade the schema of ``engine`` (default: ``[database] connection``)."""
    engine = engine or db_api.get_engine()
    with engine.begin() as connection:
        alembic_command.upgrade(_alembic_config(connection), revision)


def downgrade(revision, engine=None):
    """Take the schema of ``engine`` back to ``revision`` (operators rolling back an
    upgrade by hand; the migration tests)."""
    engine = engine or db_api.get_engine()
    with engine.begin() as connection:
        alembic_command.downgrade(_alembic_config(connection), revision)


def version(engine=None):
    """The current schema revision, or None for an empty database."""
    engine = engine or db_api.get_engine()
    with engine.connect() as connection:
        return alembic_migration.MigrationContext.configure(
            connection).get_current_revision()


def head():
    """The newest revision of the migration scripts."""
    from alembic import script as alembic_script
    return alembic_script.ScriptDirectory.from_config(_alembic_config()).get_current_head()
