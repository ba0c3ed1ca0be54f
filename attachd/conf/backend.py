"""Options of a backend group, one group per name in [DEFAULT] enabled_backends.

Every backend group has the common options below; each connector driver adds its own options
to its group (see ``attachd.drivers``).
"""

from oslo_config import cfg

from attachd.i18n import _

backend_opts = [
    cfg.StrOpt('connector_driver',
               help=_('Connector driver of this backend, a name of the '
                      'attachd.connector_drivers entry points: fake, file or tgt. Defaults '
                      'to the group name.')),
    cfg.StrOpt('volume_backend_name',
               help=_('Name that volume types select this backend by (extra spec '
                      'volume_backend_name). Defaults to the group name.')),
]

# The group that oslo-config-generator documents; real groups are named by the operator.
SAMPLE_GROUP = 'backend_name'


def register_backend_opts(conf, group):
    """Register the common backend options in ``group``."""
    conf.register_opts(backend_opts, group=group)


def register_opts(conf):
    """Nothing to register eagerly: backend groups are registered when enabled."""


def list_opts():
    return {SAMPLE_GROUP: backend_opts}
