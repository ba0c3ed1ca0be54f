"""Options of the [manager] group: attachd-manager processes."""

from oslo_config import cfg

from attachd.i18n import _

manager_group = cfg.OptGroup('manager', title=_('Manager options'))

manager_opts = [
    # A dead manager must be seen as down well before a call to it times out: until then
    # each call to it holds an API thread for [DEFAULT] rpc_response_timeout_api (30 s).
    # Four missed heartbeats (20 s) leave room for a manager slowed by its database.
    cfg.IntOpt('report_interval',
               default=5,
               min=1,
               help=_('Seconds between two heartbeats of a manager in the services table.')),
    cfg.IntOpt('service_down_time',
               default=20,
               min=1,
               help=_('Seconds without a heartbeat after which the API considers a manager '
                      'down and answers 503 instead of waiting for an RPC timeout. Keep it '
                      'a few report_interval long and below [DEFAULT] '
                      'rpc_response_timeout_api.')),
    cfg.StrOpt('rpc_version_cap',
               help=_('Highest manager RPC API version the API sends, during a rolling '
                      'upgrade: set it to the version of the oldest manager.')),
    cfg.IntOpt('executor_threads',
               default=16,
               min=1,
               help=_('Threads of a manager\'s RPC server.')),
    cfg.IntOpt('recover_after',
               default=120,
               min=0,
               help=_('Seconds after which a volume of this manager\'s backend still '
                      '``creating``, ``deleting`` or ``downloading`` is taken as lost (its '
                      'request never reached the manager, e.g. a broker restart dropped '
                      'it) and is finished by the manager\'s periodic task. A manager '
                      'always finishes them all when it starts. 0 turns the periodic '
                      'check off.')),
]


def register_opts(conf):
    conf.register_group(manager_group)
    conf.register_opts(manager_opts, group=manager_group)


def list_opts():
    return {manager_group: manager_opts}
