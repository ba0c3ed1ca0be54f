"""Options of the [DEFAULT] group."""

import os
import socket

from oslo_config import cfg

from attachd.i18n import _

default_opts = [
    cfg.StrOpt('state_path',
               default=os.path.join(os.getcwd(), 'state'),
               sample_default='$pwd/state',
               help=_('Directory where attachd keeps its state: the SQLite database of the '
                      'embedded mode, the file driver\'s volumes and lock files. Created when '
                      'missing.')),
    cfg.StrOpt('host',
               default=socket.gethostname(),
               sample_default='<current hostname>',
               help=_('Name of this node. Managers are addressed as <host>@<backend>.')),
    cfg.StrOpt('cluster',
               help=_('Name of the cluster this node\'s managers belong to (Cinder\'s '
                      'option). Managers with the same cluster name serve the same '
                      'backends together (active-active): the API sends a volume\'s '
                      'requests to <cluster>@<backend>, a queue all the live members '
                      'consume, and the members serialize their work on a volume through '
                      'the locks of [coordination] backend_url. Only backends whose '
                      'storage and exports every member reaches may be clustered (see '
                      'the deployment guide). Unset: each manager serves its backends '
                      'alone, as <host>@<backend>.')),
    cfg.ListOpt('enabled_backends',
                default=['file'],
                help=_('Names of the backends this node manages. Each name is also a '
                       'configuration group holding that backend\'s connector_driver and '
                       'options. A group that is not present uses the driver of the same name '
                       'with its defaults.')),
    cfg.StrOpt('default_backend',
               help=_('Backend that volumes are created on when their type names no '
                      'volume_backend_name. Defaults to the first of enabled_backends.')),
    cfg.StrOpt('default_volume_type',
               default='__DEFAULT__',
               help=_('Volume type of the volumes created without one, by name (Cinder\'s '
                      'option). "attachd-manage db sync" creates __DEFAULT__, as Cinder\'s '
                      'does; a volume create fails with 500 while the named type does not '
                      'exist, and the type cannot be deleted.')),
    cfg.StrOpt('storage_availability_zone',
               default='nova',
               help=_('Availability zone reported for volumes of this deployment.')),
    cfg.IntOpt('rpc_response_timeout_api',
               default=30,
               min=1,
               help=_('Seconds the API waits for a manager to answer a synchronous call '
                      '(update, delete, connection calls) before answering 503/504.')),
]


def register_opts(conf):
    conf.register_opts(default_opts)


def list_opts():
    return {'DEFAULT': default_opts}
