"""Options of the [coordination] group: the locks the managers of one cluster share."""

from oslo_config import cfg

from attachd.i18n import _

coordination_group = cfg.OptGroup('coordination', title=_('Coordination options'))

coordination_opts = [
    cfg.StrOpt('backend_url',
               default='file://$state_path',
               secret=True,
               help=_('The tooz coordination backend that holds the per-volume locks of '
                      'the managers of a cluster ([DEFAULT] cluster), as Cinder\'s option '
                      'of the same name. file://<directory> serves the members of one '
                      'machine (or a directory every member shares); for members on '
                      'several machines use a server every member reaches: '
                      'postgresql://, mysql://, etcd3+http:// or redis://. A manager '
                      'without a cluster does not use it.')),
]


def register_opts(conf):
    conf.register_group(coordination_group)
    conf.register_opts(coordination_opts, group=coordination_group)


def list_opts():
    return {coordination_group: coordination_opts}
