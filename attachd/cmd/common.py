"""What every attachd command does first: parse configuration, set up logging."""

import sys

from oslo_log import log as logging

from attachd.conf import CONF
from attachd import objects
from attachd import version


def parse_args(argv=None, description=None):
    """Load configuration files and command-line options into ``CONF`` and set up logging."""
    logging.register_options(CONF)
    argv = sys.argv[1:] if argv is None else argv
    CONF(argv, project='attachd', version=version.version_info.version_string(),
         description=description)
    logging.setup(CONF, 'attachd')
    objects.register_all()
