"""Building the WSGI application from ``api-paste.ini``.

:func:`make_app` is the public entry point (``attachd-api``, ``attachd-all`` and the WSGI
module ``attachd.wsgi.api`` call it). The paste file's composite sections use
:func:`root_app_factory` (``/``, ``/healthcheck``, ``/v3``) and :func:`pipeline_factory`
(one pipeline per ``[api] auth_strategy``).
"""

import os
import sys

from oslo_log import log as logging
from paste import deploy
import webob.dec

from attachd import exception
from attachd import objects
from attachd.api import fault
from attachd.api import request as a_request
from attachd.api.handlers import versions
from attachd.conf import CONF
from attachd.i18n import _

LOG = logging.getLogger(__name__)

PASTE_APP_NAME = 'attachd'
_SOURCE_ETC = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'etc', 'attachd')


def find_paste_config(conf=CONF):
    """The absolute path of ``[api] api_paste_config``.

    A relative name is looked up next to the configuration files, then in the source tree's
    or installation's ``etc/attachd`` (``sys.prefix``, then ``/usr/local`` and ``/usr``).
    """
    name = conf.api.api_paste_config
    if os.path.isabs(name):
        candidates = [name]
    else:
        candidates = []
        found = conf.find_file(name)
        if found:
            candidates.append(found)
        candidates.append(os.path.join(_SOURCE_ETC, name))
        candidates.append(os.path.join('/etc/attachd', name))
        # Where pip puts setup.cfg's data_files: the environment attachd runs from (a
        # virtualenv's, also when it is not activated, as under systemd), then the system's.
        for prefix in (sys.prefix, '/usr/local', '/usr'):
            candidates.append(os.path.join(prefix, 'etc', 'attachd', name))
    for path in candidates:
        if os.path.isfile(path):
            return os.path.abspath(path)
    raise exception.ConfigInvalid(reason=_('api_paste_config %s not found') % name)


def make_app(conf=CONF):
    """Return the WSGI application of the API, loaded from the paste file.

    ``conf`` must already be parsed; the pipeline's auth is chosen by
    ``[api] auth_strategy`` (:func:`pipeline_factory`, which paste calls without it, reads
    the global ``CONF``).
    """
    objects.register_all()
    if conf.api.auth_strategy == 'noauth':
        LOG.warning('attachd API runs with auth_strategy=noauth: any caller can act as any '
                    'user and project, including admin. Use it for development only.')
    path = find_paste_config(conf)
    # No global_conf: paste hands it to every filter, and keystonemiddleware warns about
    # each key it does not know.
    return deploy.loadapp('config:%s' % path, name=PASTE_APP_NAME)


def pipeline_factory(loader, global_conf, **local_conf):
    """Paste composite: the pipeline named after ``[api] auth_strategy``."""
    strategy = CONF.api.auth_strategy
    if strategy not in local_conf:
        raise exception.ConfigInvalid(
            reason=_('no pipeline for auth_strategy %s in the paste file') % strategy)
    names = local_conf[strategy].split()
    app = loader.get_app(names[-1])
    for name in reversed(names[:-1]):
        app = loader.get_filter(name)(app)
    return app


class PathPrefixMap:
    """Sends a request to the application mounted at the longest matching path prefix,
    moving the prefix from PATH_INFO to SCRIPT_NAME (a minimal paste ``urlmap``).

    Plain WSGI rather than ``webob.dec.wsgify``: the first layer of every request, it
    only reads and moves the path (the wsgify layer cost 17 us per request).
    """

    def __init__(self, applications):
        self.applications = sorted(applications.items(), key=lambda item: -len(item[0]))

    def __call__(self, environ, start_response):
        req = a_request.Request(environ)
        try:
            path = req.path_info or '/'
        except UnicodeDecodeError:
            # The first place the path is decoded: a URL that is not UTF-8 must be a
            # fault here, not an exception out of the application.
            return fault.fault_response(400, _('Malformed request url'))(
                environ, start_response)
        for prefix, app in self.applications:
            if prefix == '/':
                if path == '/':
                    return app(environ, start_response)
                continue
            if path == prefix or path.startswith(prefix + '/'):
                req.script_name += prefix
                req.path_info = path[len(prefix):]
                return app(environ, start_response)
        return fault.fault_response(404, _('The resource could not be found.'))(
            environ, start_response)


def root_app_factory(loader, global_conf, **local_conf):
    """Paste composite mapping path prefixes to applications."""
    return PathPrefixMap({prefix: loader.get_app(name)
                          for prefix, name in local_conf.items()})


def versions_app_factory(global_conf, **local_conf):
    """``GET /``: the versions document (300 Multiple Choices)."""
    @webob.dec.wsgify(RequestClass=a_request.Request)
    def app(req):
        if req.method not in ('GET', 'HEAD'):
            return fault.fault_response(405, _('Only GET is allowed here.'), {'Allow': 'GET'})
        return versions.show_all(req)
    return app
