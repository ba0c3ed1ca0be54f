"""The API as a WSGI application for gunicorn, uWSGI or mod_wsgi.

``gunicorn 'attachd.wsgi.api:application'`` -- the configuration file is
``$ATTACHD_CONFIG_FILE`` (default ``/etc/attachd/attachd.conf``); extra files can be listed
in ``$ATTACHD_CONFIG_FILES``, separated by commas. Every file named must exist: the
application refuses to load rather than run on defaults (``noauth``, SQLite) that nobody
chose. It is built when this module is first imported, so each server worker process builds
its own (database engine, RPC transport) after the fork.
"""

import os

from oslo_log import log as logging

from attachd import exception
from attachd import objects
from attachd import version
from attachd.api import app
from attachd.conf import CONF
from attachd.i18n import _

DEFAULT_CONFIG_FILE = '/etc/attachd/attachd.conf'


def _config_files():
    files = [os.environ.get('ATTACHD_CONFIG_FILE', DEFAULT_CONFIG_FILE)]
    extra = os.environ.get('ATTACHD_CONFIG_FILES')
    if extra:
        files.extend(f.strip() for f in extra.split(',') if f.strip())
    missing = [f for f in files if not os.path.isfile(f)]
    if missing:
        raise exception.ConfigInvalid(reason=_(
            'configuration file %s not found: set ATTACHD_CONFIG_FILE (and '
            'ATTACHD_CONFIG_FILES) to existing files') % ', '.join(missing))
    return files


_application = None


def init_application():
    """Parse the configuration, set up logging and return the paste-loaded application.

    Once per process: later calls return the same application. pbr's ``attachd-wsgi``
    script (the ``wsgi_scripts`` entry point) calls it after importing this module, which
    built it already, and the configuration cannot be parsed twice.
    """
    global _application
    if _application is None:
        files = _config_files()
        logging.register_options(CONF)
        CONF([], project='attachd', version=version.version_info.version_string(),
             default_config_files=files)
        logging.setup(CONF, 'attachd')
        objects.register_all()
        _application = app.make_app(CONF)
    return _application


application = init_application()
