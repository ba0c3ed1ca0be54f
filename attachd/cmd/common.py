"""What every attachd command does first: parse configuration, set up logging."""

import sys

from oslo_log import log as logging

from attachd.conf import CONF
from attachd import objects
from attachd import version


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
