"""Options of the connector drivers, for oslo-config-generator (its namespace
``attachd.drivers``, beside ``attachd``'s own).

A driver registers its options (its class's ``OPTS``) in the group of each backend that uses
it; the sample configuration documents them under the sample backend group. The drivers are
those of the ``attachd.connector_drivers`` entry points, so a driver installed by another
package is documented too.
"""

from stevedore import extension

from attachd import drivers as drivers_pkg
from attachd.conf import backend


def list_opts():
    """``[(group, [opts])]`` of every installed driver's options."""
    drivers = extension.ExtensionManager(drivers_pkg.NAMESPACE)
    opts = []
    for name in sorted(drivers.names()):
        for opt in drivers[name].plugin.OPTS:
            if opt not in opts:
                opts.append(opt)
    return [(backend.SAMPLE_GROUP, opts)]
