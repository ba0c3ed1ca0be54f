"""What every attachd command does first (parse configuration, set up logging), and how it
ends when the configuration is wrong: one line on stderr that names the mistake and its fix,
exit status 2, no traceback (:func:`main`)."""

import functools
import os
import re
import sys

from oslo_config import cfg
from oslo_db import exception as db_exc
from oslo_log import log as logging
import sqlalchemy
from sqlalchemy import exc as sa_exc
from sqlalchemy import pool as sa_pool
from sqlalchemy.engine import url as sa_url

from attachd import exception
from attachd import objects
from attachd import version
from attachd.conf import CONF
from attachd.i18n import _

# Exit status of a configuration mistake (argparse uses 2 for command-line mistakes too).
CONFIG_ERROR_EXIT = 2

# The Python module each database URL's driver imports, and the extra that installs it.
_DB_DRIVER_EXTRAS = {'psycopg2': 'postgresql', 'pymysql': 'mysql'}

_URL_EXAMPLES = ('sqlite:////var/lib/attachd/attachd.sqlite, '
                 'postgresql+psycopg2://USER:PASSWORD@HOST/DATABASE or '
                 'mysql+pymysql://USER:PASSWORD@HOST/DATABASE')


def parse_args(argv=None, description=None, register_objects=True):
    """Load configuration files and command-line options into ``CONF``, set up logging and
    (unless ``register_objects`` is false) register the versioned objects."""
    logging.register_options(CONF)
    argv = sys.argv[1:] if argv is None else argv
    CONF(argv, project='attachd', version=version.version_info.version_string(),
         description=description)
    logging.setup(CONF, 'attachd')
    if register_objects:
        objects.register_all()


def check_database(conf=CONF):
    """Raise unless ``[database] connection`` is reachable and its schema is current.

    Before a service starts its workers or managers: a mistake is then one line from the
    command instead of a traceback from each of them. A pool-less engine, disposed of at
    once, so that processes forked afterwards (attachd-api's workers) share no connection.
    """
    # Imported here: alembic (with mako and pygments) holds 10 MB in every process that
    # imports it, and only the commands that check or change the schema need it, not the
    # long-running attachd-manager, which imports this module too.
    from attachd.db import migration
    engine = sqlalchemy.create_engine(conf.database.connection, poolclass=sa_pool.NullPool)
    try:
        current = migration.version(engine)
    finally:
        engine.dispose()
    head = migration.head()
    if current != head:
        raise exception.StartupError(
            _('the database schema is at revision %(current)s, this attachd needs '
              '%(head)s. Run: attachd-manage --config-file FILE db sync') % {
                'current': current, 'head': head})


def _shown_database_url():
    try:
        return sa_url.make_url(CONF.database.connection).render_as_string(hide_password=True)
    except Exception:
        # The URL itself is what is wrong; never echo it, it may hold a password.
        return _('(unparsable URL)')


def _driver_message(exc):
    """The database driver's own words, on one line, without SQLAlchemy's trailer."""
    inner = getattr(exc, 'orig', None) or getattr(exc, 'inner_exception', None) or exc
    inner = getattr(inner, 'orig', None) or inner
    text = re.sub(r'\(Background on this error.*?\)', '', str(inner), flags=re.S)
    return ' '.join(text.split())


def explain(exc):
    """One line naming the configuration mistake behind ``exc`` and its fix, or None when
    ``exc`` is not a configuration mistake (a bug, which keeps its traceback)."""
    if isinstance(exc, cfg.ConfigFilesNotFoundError):
        return _('configuration file %s not found. Pass --config-file with the path of an '
                 'existing file; doc/source/install.rst shows how to write one from the '
                 'sample.') % ', '.join(exc.config_files)
    if isinstance(exc, cfg.Error):
        return _('invalid configuration: %s') % ' '.join(str(exc).split())
    if isinstance(exc, (sa_exc.NoSuchModuleError, sa_exc.ArgumentError)):
        return _('[database] connection %(url)s: unknown or malformed database URL. Use '
                 '%(examples)s.') % {'url': _shown_database_url(), 'examples': _URL_EXAMPLES}
    if isinstance(exc, ImportError) and exc.name in _DB_DRIVER_EXTRAS:
        return _('[database] connection %(url)s needs the Python module %(module)s, which '
                 'is not installed. Install it with: pip install "attachd[%(extra)s]"') % {
            'url': _shown_database_url(), 'module': exc.name,
            'extra': _DB_DRIVER_EXTRAS[exc.name]}
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError,
                        db_exc.DBConnectionError)):
        return _('cannot use the database %(url)s: %(reason)s. Check [database] connection '
                 '(user, password, host, database name) and that the account exists and may '
                 'log in (doc/source/install.rst).') % {
            'url': _shown_database_url(), 'reason': _driver_message(exc)}
    if isinstance(exc, exception.StartupError):
        return str(exc)
    if isinstance(exc, PermissionError):
        return _('permission denied on %(path)s: run as the user that owns it, or point '
                 '[DEFAULT] state_path (or the option naming it) elsewhere.') % {
            'path': exc.filename}
    return None


def main(function):
    """Decorate a console script's ``main``: a configuration mistake ends the command with
    one line on stderr and exit status :data:`CONFIG_ERROR_EXIT`."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except Exception as exc:
            message = explain(exc)
            if message is None:
                raise
            prog = os.path.basename(sys.argv[0]) or 'attachd'
            print('%s: error: %s' % (prog, message), file=sys.stderr, flush=True)
            return CONFIG_ERROR_EXIT
    return wrapper
