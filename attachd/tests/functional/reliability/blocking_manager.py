"""``attachd-manager``, with the tgt driver's connect blocking forever once it has granted
access when ``ATTACHD_TEST_BLOCK_MARKER`` names a file (created at that moment): a
manager caught in the middle of an update, for the test to SIGKILL.

Run as ``python -m attachd.tests.functional.reliability.blocking_manager --config-file F``.
"""

import os
import sys
import time

from attachd.cmd import manager
from attachd.drivers import tgt


def _blocking(original, marker):
    def initialize_connection(self, volume, connector, attachment_id):
        info = original(self, volume, connector, attachment_id)
        with open(marker, 'w') as f:
            f.write(attachment_id or '')
        while True:
            time.sleep(60)
        return info
    return initialize_connection


if __name__ == '__main__':
    marker = os.environ.get('ATTACHD_TEST_BLOCK_MARKER')
    if marker:
        tgt.TgtDriver.initialize_connection = _blocking(tgt.TgtDriver.initialize_connection,
                                                        marker)
    sys.exit(manager.main(sys.argv[1:]))
