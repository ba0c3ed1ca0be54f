"""The option lists for oslo-config-generator, one entry per group."""

from attachd.conf import api
from attachd.conf import attachments
from attachd.conf import backend
from attachd.conf import coordination
from attachd.conf import database
from attachd.conf import default
from attachd.conf import manager
from attachd.conf import nova

_MODULES = [default, api, attachments, database, manager, backend, coordination, nova]


def list_opts():
    """Return ``[(group, [opts])]`` for every attachd option but the drivers' (their
    namespace is ``attachd.drivers``: :mod:`attachd.drivers.opts`)."""
    result = {}
    for module in _MODULES:
        for group, opts in module.list_opts().items():
            result.setdefault(group, []).extend(opts)
    return list(result.items())


def set_lib_defaults():
    """Defaults attachd gives library options, shown in the sample configuration."""
    from oslo_config import cfg
    database.register_opts(cfg.CONF)
