"""Options of the [nova] group: how attachd asks Nova whether a server still uses an
attachment, Cinder's group of the same name.

Besides these, the group takes keystoneauth1's session options (``cafile``, ``insecure``,
``timeout`` ...) and auth options (``auth_type`` and its plugin's, e.g. ``auth_url``,
``username``, ``password``, ``project_name``), as in Cinder. Those are registered by
:func:`register_client_opts`, which only the process that asks Nova calls
(:mod:`attachd.compute`): importing ``keystoneauth1.loading`` costs 8.8 MB and 200 modules,
which a manager, and an API that never asks Nova, need not carry.
"""

from oslo_config import cfg

from attachd.i18n import _

nova_group = cfg.OptGroup('nova', title=_('Nova (Compute API) options'), help=_(
    'With auth_type (or auth_section) or endpoint_override set, a user\'s removal of an '
    'attachment that is connected to a server asks Nova whether the server still uses it '
    '(Cinder\'s rule, bug 2004555); without them such a removal needs Nova\'s service '
    'token.'))

nova_opts = [
    cfg.StrOpt('region_name',
               help=_('Region of the Compute endpoint in the Keystone catalog.')),
    cfg.StrOpt('interface',
               default='public',
               choices=['public', 'admin', 'internal'],
               help=_('Which Compute endpoint of the Keystone catalog to use.')),
    cfg.URIOpt('endpoint_override',
               help=_('URL of the Compute API (with its /v2.1 path) instead of the Keystone '
                      'catalog, e.g. under auth_strategy noauth.')),
]


def register_opts(conf):
    conf.register_group(nova_group)
    conf.register_opts(nova_opts, group=nova_group)


def register_client_opts(conf):
    """keystoneauth1's session and auth options of the group (idempotent)."""
    from keystoneauth1 import loading as ks_loading
    ks_loading.register_session_conf_options(conf, nova_group.name)
    ks_loading.register_auth_conf_options(conf, nova_group.name)


def list_opts():
    from keystoneauth1 import loading as ks_loading
    return {nova_group: (nova_opts
                         + ks_loading.get_session_conf_options()
                         + ks_loading.get_auth_common_conf_options()
                         + ks_loading.get_auth_plugin_conf_options('password'))}
