"""Options of the [attachments] group: attachment life cycle."""

from oslo_config import cfg

from attachd.i18n import _

attachments_group = cfg.OptGroup('attachments', title=_('Attachment life cycle options'))

attachments_opts = [
    cfg.IntOpt('reservation_timeout',
               default=0,
               min=0,
               help=_('Seconds after which a reservation that was neither connected nor '
                      'completed is reclaimed by the manager\'s periodic task, and the volume '
                      'status recomputed. 0 disables reclaiming. Reservations completed '
                      'without a connector (Nova\'s shelved-offloaded servers) are never '
                      'reclaimed.')),
    cfg.IntOpt('reclaim_interval',
               default=60,
               min=1,
               help=_('Seconds between two runs of the reservation reclaimer.')),
]


def register_opts(conf):
    conf.register_group(attachments_group)
    conf.register_opts(attachments_opts, group=attachments_group)


def list_opts():
    return {attachments_group: attachments_opts}
