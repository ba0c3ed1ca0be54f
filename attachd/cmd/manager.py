"""attachd-manager: the managers of this node's backends, serving RPC over the broker.

``attachd-manager --config-file /etc/attachd/attachd.conf`` starts one manager per name in
``[DEFAULT] enabled_backends`` and runs until SIGTERM or SIGINT.
"""

import sys

from oslo_log import log as logging

from attachd import exception
from attachd.cmd import common
from attachd.conf import CONF
from attachd.conf import messaging as messaging_conf
from attachd.manager import service

LOG = logging.getLogger(__name__)


@common.main
def main(argv=None):
    common.parse_args(argv, description='attachd manager: drives the storage backends')
    service.check_drivers()
    if not messaging_conf.transport_url(CONF):
        LOG.warning('[DEFAULT] transport_url is not set: the managers serve only this '
                    'process, and no API can reach them. Set it to the broker\'s URL, or '
                    'run attachd-all for the embedded mode.')
    with service.StopSignals() as stop_signals:
        try:
            services = service.start_all()
        except exception.ManagerAlreadyRunning as exc:
            LOG.error('%s', exc)
            return 1
        signum = stop_signals.wait()
        LOG.info('Signal %d received; stopping', signum)
        for manager_service in services:
            manager_service.stop()
    return 0


if __name__ == '__main__':
    sys.exit(main())
