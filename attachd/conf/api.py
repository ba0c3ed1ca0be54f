"""Options of the [api] group: the HTTP service."""

from oslo_config import cfg

from attachd.i18n import _

api_group = cfg.OptGroup('api', title=_('HTTP API options'))

api_opts = [
    cfg.HostAddressOpt('bind_host',
                       default='127.0.0.1',
                       help=_('Address the embedded and standalone API servers listen on.')),
    cfg.PortOpt('bind_port',
                default=8776,
                help=_('Port the embedded and standalone API servers listen on.')),
    cfg.IntOpt('workers',
               default=1,
               min=1,
               help=_('Worker processes of attachd-api. Under gunicorn or uWSGI use their '
                      'own worker settings instead.')),
    cfg.IntOpt('threads',
               default=16,
               min=1,
               help=_('Request threads of the embedded threaded WSGI server and of each '
                      'attachd-api worker process.')),
    cfg.IntOpt('max_connections',
               default=1000,
               min=1,
               help=_('Open client connections each attachd-api worker process keeps; '
                      'past it, it stops accepting until some close. Connections waiting '
                      'for the rest of a request hold no thread, only a socket and a '
                      'buffer, so keep it well above the number of clients and within '
                      'the open-files limit (ulimit -n).')),
    cfg.IntOpt('manager_calls_per_backend',
               default=8,
               min=1,
               help=_('Most request threads of one API process that may wait at once for '
                      'the answer of one backend\'s manager (over the message broker); '
                      'requests past it get 503 at once. A manager that died or hangs then '
                      'holds at most this many threads until its heartbeat goes stale, and '
                      'the others keep serving requests that need only the database or '
                      'another backend. Keep it below the threads of an API process '
                      '(attachd-api: [api] threads).')),
    cfg.StrOpt('auth_strategy',
               default='noauth',
               choices=[('noauth', _('No authentication: "X-Auth-Token: user:project" names '
                                     'the caller. For development and the embedded mode '
                                     'only, never in production.')),
                        ('keystone', _('keystonemiddleware auth_token validates tokens.'))],
               help=_('How callers are authenticated.')),
    cfg.StrOpt('api_paste_config',
               default='api-paste.ini',
               help=_('The paste.deploy file with the WSGI pipelines. A relative path is '
                      'looked up next to the configuration files, then in etc/attachd of the '
                      'source tree or installation.')),
    cfg.IntOpt('max_limit',
               default=1000,
               min=1,
               help=_('Largest number of items a list returns in one page (Cinder\'s '
                      'osapi_max_limit).')),
    cfg.StrOpt('public_endpoint',
               help=_('Base URL advertised in the versions documents and links. Defaults to '
                      'the URL of the request.')),
    cfg.StrOpt('project_id_regex',
               default=r'[0-9a-fA-F\-]+',
               help=_('Regular expression that a project id in a URL must match.')),
    cfg.BoolOpt('allow_owner_delete_connected_attachment',
                default=False,
                help=_('Let a project member delete an attachment that is connected to a '
                       'server without a service token. Off by default: Nova must detach '
                       'through the Compute API (OSSA-2023-003).')),
    cfg.IntOpt('max_connector_bytes',
               default=65536,
               min=1024,
               help=_('Largest accepted JSON size of a host connector, in bytes.')),
    cfg.IntOpt('max_connector_keys',
               default=256,
               min=1,
               help=_('Largest accepted number of keys in a host connector.')),
    cfg.IntOpt('idempotency_ttl',
               default=86400,
               min=1,
               help=_('Seconds a volume or attachment create sent with an Idempotency-Key '
                      'header is remembered: within them, the same key, user, project and '
                      'request replay the first answer; after them the key is free.')),
    cfg.IntOpt('idempotency_lease',
               default=120,
               min=1,
               help=_('Seconds a create sent with an Idempotency-Key may run before a retry '
                      'with the same key may run it again (until then the retry gets 409). '
                      'It frees the key of a request whose API process died; keep it above '
                      'the longest a create takes ([DEFAULT] rpc_response_timeout_api plus '
                      'the database\'s time).')),
    cfg.IntOpt('idempotency_purge_interval',
               default=3600,
               min=0,
               help=_('Seconds between two deletions of the expired idempotency keys, by '
                      'each attachd-manager (and attachd-all); 0 turns the purge off. An '
                      'expired key is free whether or not it was purged: the purge only '
                      'keeps the table small.')),
]


def register_opts(conf):
    conf.register_group(api_group)
    conf.register_opts(api_opts, group=api_group)


def list_opts():
    return {api_group: api_opts}
