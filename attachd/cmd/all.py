"""attachd-all: the embedded mode, everything in one process.

The API under a threaded WSGI server on ``[api] bind_host:bind_port``, and the managers of
``[DEFAULT] enabled_backends`` (the ``file`` driver by default) called in-process, without a
broker, on an SQLite database under ``[DEFAULT] state_path`` whose schema it creates or
upgrades at start. Stops cleanly on SIGTERM or SIGINT.
"""

import sys
import threading

from oslo_log import log as logging

from attachd.cmd import common
from attachd.common import wsgi_server
from attachd.conf import CONF
from attachd.conf import messaging as messaging_conf
from attachd.db import api as db_api
from attachd.db import migration
from attachd.manager import service

LOG = logging.getLogger(__name__)


def _make_api_app():
    # Imported here: the API package is the heavier half, and a mistake found before it
    # is loaded (an unknown connector driver) should be reported without loading it.
    from attachd.api import app
    return app.make_app(CONF)


@common.main
def main(argv=None):
    common.parse_args(argv, description='attachd all-in-one: API and manager, one process')
    if messaging_conf.transport_url(CONF):
        LOG.warning('attachd-all calls its managers in-process; ignoring [DEFAULT] '
                    'transport_url')
        CONF.set_override('transport_url', None)
    # Everything that can be checked without side effects first: a mistake must not leave
    # a database schema or a state directory behind.
    service.check_drivers()
    # Caught from here on: a SIGTERM or Ctrl-C while the schema is upgraded or the port
    # opens stops attachd-all cleanly once it has started.
    with service.StopSignals() as stop_signals:
        server = wsgi_server.make_server(CONF.api.bind_host, CONF.api.bind_port,
                                         _make_api_app(), CONF.api.threads)
        try:
            migration.upgrade()
            services = service.start_all()
        except Exception:
            server.server_close()
            raise
        serving = threading.Thread(target=server.serve_forever, name='wsgi', daemon=True)
        serving.start()
        host, port = server.server_address[:2]
        print('attachd-all: API on http://%s:%d/ ; database %s ; state in %s ; backends %s'
              % (host, port, db_api.get_engine().url.render_as_string(hide_password=True),
                 CONF.state_path, ', '.join(CONF.enabled_backends)), flush=True)
        signum = stop_signals.wait()
        LOG.info('Signal %d received; stopping', signum)
        server.shutdown()
        server.server_close()
        for manager_service in services:
            manager_service.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
