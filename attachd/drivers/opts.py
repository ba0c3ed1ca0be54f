"""Options of the connector drivers, for oslo-config-generator.

A driver registers its options in the group of each backend that uses it; the sample
configuration documents them under the sample backend group.
"""

from attachd.conf import backend
from attachd.drivers import file
from attachd.drivers import tgt


def list_opts():
    """``{group: [opts]}`` of every driver's options."""
    return {backend.SAMPLE_GROUP: file.OPTS + tgt.OPTS}
