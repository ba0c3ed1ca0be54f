"""attachd's WSGI middleware: request ids, faults, microversions and the caller's context.

Each class has a ``factory`` for paste.deploy (``etc/attachd/api-paste.ini``).
"""

from oslo_log import log as logging
from oslo_middleware import cors
from oslo_middleware import request_id
import webob
import webob.dec

from attachd.api import fault
from attachd.api import microversion
from attachd.api import request as a_request
from attachd.conf import CONF
from attachd import context as a_context
from attachd.i18n import _

LOG = logging.getLogger(__name__)


class _Middleware:
    """Base of the paste filters below."""

    def __init__(self, application, **local_conf):
        self.application = application

    @classmethod
    def factory(cls, global_conf, **local_conf):
        def _filter(app):
            return cls(app, **local_conf)
        return _filter


class RequestId(request_id.RequestId):
    """oslo.middleware's request id, also returned as ``x-compute-request-id``, the header
    python-cinderclient reads the request id of errors from."""

    compat_headers = ['x-compute-request-id']


def cors_factory(global_conf, **local_conf):
    """oslo.middleware's CORS reading the ``[cors]`` options of attachd's own
    configuration (its paste factory would load the project's files a second time)."""
    def _filter(app):
        return cors.CORS(app, CONF)
    return _filter


class FaultWrapper(_Middleware):
    """Turns every exception and every non-JSON error response into a Cinder fault body.

    Error responses produced by library middleware (oslo.middleware's size limit answers
    413 as text) are rewritten too, so no caller ever sees HTML or a traceback.
    """

    @webob.dec.wsgify(RequestClass=a_request.Request)
    def __call__(self, req):
        try:
            response = req.get_response(self.application)
        except Exception as exc:
            return fault.from_exception(exc)
        if response.status_int >= 400 and not fault.is_fault_body(response):
            message = response.status.split(' ', 1)[-1]
            rewritten = fault.fault_response(response.status_int, message)
            for name in ('Allow', 'WWW-Authenticate', 'Retry-After'):
                if name in response.headers:
                    rewritten.headers[name] = response.headers[name]
            return rewritten
        return response


class Microversion(_Middleware):
    """Reads ``OpenStack-API-Version`` and echoes the effective version, with
    ``Vary: OpenStack-API-Version``, on every response including faults."""

    @webob.dec.wsgify(RequestClass=a_request.Request)
    def __call__(self, req):
        headers = {'Vary': microversion.HEADER}
        try:
            version = microversion.from_headers(req.headers)
        except microversion.MalformedVersion as exc:
            return fault.fault_response(400, str(exc), headers)
        except microversion.UnsupportedVersion as exc:
            return fault.fault_response(406, str(exc), headers)
        req.environ[microversion.ENVIRON_KEY] = version
        response = req.get_response(self.application)
        response.headers[microversion.HEADER] = microversion.response_header_value(version)
        vary = response.headers.get('Vary')
        if not vary:
            response.headers['Vary'] = microversion.HEADER
        elif microversion.HEADER.lower() not in vary.lower():
            response.headers['Vary'] = '%s, %s' % (vary, microversion.HEADER)
        return response


class NoAuth(_Middleware):
    """Development-only authentication: ``X-Auth-Token: user:project`` names the caller.

    NOTHING IS CHECKED: anyone who can reach the API can act as any user of any project,
    including ``admin``. It exists so that attachd runs without Keystone on a laptop and so
    that python-cinderclient's ``noauth`` plugin works unchanged. The user ``admin`` gets the
    admin role, everyone else ``member`` (with ``reader``, as Keystone's implied roles give).
    ``X-Roles`` and ``X-Service-Roles`` headers, when sent, are used as keystonemiddleware
    would set them after validating a user and a service token.
    """

    @webob.dec.wsgify(RequestClass=a_request.Request)
    def __call__(self, req):
        token = req.headers.get('X-Auth-Token')
        if not token:
            return fault.fault_response(
                401, _('Send X-Auth-Token: <user>:<project> (noauth mode).'))
        user_id, _sep, project_id = token.partition(':')
        project_id = project_id or user_id
        roles = req.headers.get('X-Roles')
        if not roles:
            roles = 'admin,member,reader' if user_id == 'admin' else 'member,reader'
        req.headers['X-User-Id'] = user_id
        req.headers['X-User-Name'] = user_id
        req.headers['X-Project-Id'] = project_id
        req.headers['X-Project-Name'] = project_id
        req.headers['X-Roles'] = roles
        req.headers['X-Identity-Status'] = 'Confirmed'
        return self.application


class Context(_Middleware):
    """Makes the request's :class:`attachd.context.RequestContext` from the identity headers
    that keystonemiddleware (or :class:`NoAuth`) set."""

    @webob.dec.wsgify(RequestClass=a_request.Request)
    def __call__(self, req):
        if req.headers.get('X-Identity-Status', 'Confirmed') != 'Confirmed':
            return fault.fault_response(401, _('Authentication required.'))
        ctx = a_context.RequestContext.from_environ(req.environ)
        if not ctx.project_id:
            return fault.fault_response(400, _('The token has no project scope.'))
        req.environ[a_request.CONTEXT_KEY] = ctx
        return self.application
