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
    """Return ``[(group, [opts])]`` for every attachd option."""
    result = {}
    for module in _MODULES:
        for group, opts in module.list_opts().items():
            result.setdefault(group, []).extend(opts)
    extra = _driver_opts()
    for group, opts in extra.items():
        result.setdefault(group, []).extend(opts)
    return list(result.items())


def _driver_opts():
    # Each driver module lists its options; imported late so that a broken driver does not
    # stop the rest of the sample from being generated.
    try:
        from attachd.drivers import opts as driver_opts
    except ImportError:
        return {}
    return driver_opts.list_opts()


def set_lib_defaults():
    """Defaults attachd gives library options, shown in the sample configuration."""
    from oslo_config import cfg
    database.register_opts(cfg.CONF)
