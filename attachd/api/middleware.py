"""attachd's WSGI middleware: request ids, faults, microversions and the caller's context.

Each class has a ``factory`` for paste.deploy (``etc/attachd/api-paste.ini``).

Every layer of the pipeline runs for every request. A ``webob.dec.wsgify`` layer that calls
``req.get_response()`` builds a request and a response object and re-serialises the
response for the next layer up: 30 to 100 us per layer, measured in-process around a stub
application. The layers that only read the environ or add response
headers are therefore plain WSGI callables; oslo.middleware's are kept, and only skipped
for requests they cannot change.
"""

import re

from oslo_context import context as o_context
from oslo_log import log as logging
from oslo_middleware import cors
from oslo_middleware import http_proxy_to_wsgi
from oslo_middleware import request_id
from oslo_middleware import sizelimit
import webob

from attachd import context as a_context
from attachd.api import fault
from attachd.api import microversion
from attachd.api import request as a_request
from attachd.conf import CONF
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
    python-cinderclient reads the request id of errors from.

    The same environ keys and response headers as oslo's ``RequestId.__call__``, as plain
    WSGI: oslo's is a wsgify layer that also calls ``inspect.getfullargspec`` per request,
    62 us per request against 6 us for this one (in-process, see the module docstring).
    """

    compat_headers = ['x-compute-request-id']

    def __call__(self, environ, start_response):
        global_id = environ.get('HTTP_X_OPENSTACK_REQUEST_ID', '')
        if global_id and re.match(request_id.ID_FORMAT, global_id):
            environ[request_id.GLOBAL_REQ_ID] = global_id
        req_id = o_context.generate_request_id()
        environ[request_id.ENV_REQUEST_ID] = req_id
        names = [request_id.HTTP_RESP_HEADER_REQUEST_ID] + self.compat_headers

        def start_response_with_id(status, headers, exc_info=None):
            present = {name.lower() for name, _value in headers}
            headers = list(headers)
            headers.extend((name, req_id) for name in names if name.lower() not in present)
            return start_response(status, headers, exc_info)

        return self.application(environ, start_response_with_id)


class CORS(cors.CORS):
    """oslo.middleware's CORS, skipped for requests it leaves unchanged.

    oslo's CORS only acts on requests with an ``Origin`` header and on ``OPTIONS``
    (preflight) requests; for all others its wsgify round trip cost 90 us and changed
    nothing.
    """

    def __call__(self, environ, start_response):
        if 'HTTP_ORIGIN' not in environ and environ.get('REQUEST_METHOD') != 'OPTIONS':
            return self.application(environ, start_response)
        return super().__call__(environ, start_response)


def cors_factory(global_conf, **local_conf):
    """oslo.middleware's CORS reading the ``[cors]`` options of attachd's own
    configuration (its paste factory would load the project's files a second time)."""
    def _filter(app):
        return CORS(app, CONF)
    return _filter


class HTTPProxyToWSGI(http_proxy_to_wsgi.HTTPProxyToWSGI):
    """oslo.middleware's proxy header parsing, skipped while
    ``[oslo_middleware] enable_proxy_headers_parsing`` is off (the default), when it
    changes nothing: its wsgify round trip cost 50 us per request."""

    def __call__(self, environ, start_response):
        if not self._conf_get('enable_proxy_headers_parsing'):
            return self.application(environ, start_response)
        return super().__call__(environ, start_response)


class FaultWrapper(_Middleware):
    """Turns every exception and every non-JSON error response into a Cinder fault body.

    Error responses produced by library middleware (oslo.middleware's size limit answers
    413 as text) are rewritten too, so no caller ever sees HTML or a traceback.
    """

    def __call__(self, environ, start_response):
        req = a_request.Request(environ)
        try:
            status, headers, app_iter = req.call_application(self.application)
        except Exception as exc:
            return fault.from_exception(exc)(environ, start_response)
        if int(status.split(' ', 1)[0]) < 400:
            # Passed on as it came: a response object would only re-serialise it (a
            # wsgify layer here cost 29 us per request).
            start_response(status, headers)
            return app_iter
        response = webob.Response(status=status, headerlist=headers, app_iter=app_iter)
        if not fault.is_fault_body(response):
            message = response.status.split(' ', 1)[-1]
            rewritten = fault.fault_response(response.status_int, message)
            for name in ('Allow', 'WWW-Authenticate', 'Retry-After'):
                if name in response.headers:
                    rewritten.headers[name] = response.headers[name]
            response = rewritten
        return response(environ, start_response)


class RequestBodySizeLimiter(sizelimit.RequestBodySizeLimiter):
    """oslo.middleware's body size limit, skipped for a request without a body or with
    a ``Content-Length`` within the limit: it only acts on a larger ``Content-Length``
    (413) or a body of unknown length (read through a limiting reader), and its wsgify
    round trip cost 30 us per request."""

    def __call__(self, environ, start_response):
        length = environ.get('CONTENT_LENGTH')
        if length:
            within = (length.isdigit()
                      and int(length) <= self._conf_get('max_request_body_size'))
        else:
            within = 'HTTP_TRANSFER_ENCODING' not in environ
        if within:
            return self.application(environ, start_response)
        return super().__call__(environ, start_response)


def _with_version_headers(headers, value):
    """``headers`` (a WSGI header list) with ``OpenStack-API-Version: value`` and
    ``OpenStack-API-Version`` in ``Vary``, set as webob's ``headers[name] = value`` would
    (the last ``Vary`` is the one extended)."""
    header = microversion.HEADER.lower()
    headers = [(name, v) for name, v in headers if name.lower() != header]
    headers.append((microversion.HEADER, value))
    varies = [v for name, v in headers if name.lower() == 'vary']
    vary = varies[-1] if varies else None
    if vary and header in vary.lower():
        return headers
    headers = [(name, v) for name, v in headers if name.lower() != 'vary']
    headers.append(('Vary', '%s, %s' % (vary, microversion.HEADER) if vary
                    else microversion.HEADER))
    return headers


class Microversion(_Middleware):
    """Reads ``OpenStack-API-Version`` and echoes the effective version, with
    ``Vary: OpenStack-API-Version``, on every response including faults."""

    def __call__(self, environ, start_response):
        try:
            version = microversion.from_environ(environ)
        except (microversion.MalformedVersion, microversion.UnsupportedVersion) as exc:
            code = 400 if isinstance(exc, microversion.MalformedVersion) else 406
            response = fault.fault_response(code, str(exc), {'Vary': microversion.HEADER})
            return response(environ, start_response)
        environ[microversion.ENVIRON_KEY] = version
        value = microversion.response_header_value(version)

        def start_response_with_version(status, headers, exc_info=None):
            return start_response(status, _with_version_headers(headers, value), exc_info)

        return self.application(environ, start_response_with_version)


class NoAuth(_Middleware):
    """Development-only authentication: ``X-Auth-Token: user:project`` names the caller.

    NOTHING IS CHECKED: anyone who can reach the API can act as any user of any project,
    including ``admin``. It exists so that attachd runs without Keystone on a laptop and so
    that python-cinderclient's ``noauth`` plugin works unchanged. The user ``admin`` gets the
    admin role, everyone else ``member`` (with ``reader``, as Keystone's implied roles give).
    An ``X-Roles`` header, when sent, replaces those roles.

    ``X-Service-Token: user:project`` (what Nova and Ironic send with the user's token) is
    a service token with the roles of ``[keystone_authtoken] service_token_roles``. The
    service identity headers a caller sends (``X-Service-Roles`` ...) are removed first, as
    keystonemiddleware removes them: only a service token makes a service caller.
    """

    def __call__(self, environ, start_response):
        token = environ.get('HTTP_X_AUTH_TOKEN')
        if not token:
            response = fault.fault_response(
                401, _('Send X-Auth-Token: <user>:<project> (noauth mode).'))
            return response(environ, start_response)
        for key in [k for k in environ
                    if k.startswith('HTTP_X_SERVICE_') and k != 'HTTP_X_SERVICE_TOKEN']:
            del environ[key]
        user_id, project_id = self._identity(token)
        roles = environ.get('HTTP_X_ROLES')
        if not roles:
            roles = 'admin,member,reader' if user_id == 'admin' else 'member,reader'
        environ['HTTP_X_USER_ID'] = user_id
        environ['HTTP_X_USER_NAME'] = user_id
        environ['HTTP_X_PROJECT_ID'] = project_id
        environ['HTTP_X_PROJECT_NAME'] = project_id
        environ['HTTP_X_ROLES'] = roles
        environ['HTTP_X_IDENTITY_STATUS'] = 'Confirmed'
        service_token = environ.get('HTTP_X_SERVICE_TOKEN')
        if service_token:
            service_user, service_project = self._identity(service_token)
            environ['HTTP_X_SERVICE_USER_ID'] = service_user
            environ['HTTP_X_SERVICE_USER_NAME'] = service_user
            environ['HTTP_X_SERVICE_PROJECT_ID'] = service_project
            environ['HTTP_X_SERVICE_PROJECT_NAME'] = service_project
            environ['HTTP_X_SERVICE_ROLES'] = ','.join(a_context.service_token_roles())
            environ['HTTP_X_SERVICE_IDENTITY_STATUS'] = 'Confirmed'
        return self.application(environ, start_response)

    @staticmethod
    def _identity(token):
        """``(user, project)`` named by a noauth token ``user:project`` (or ``user``)."""
        user_id, _sep, project_id = token.partition(':')
        return user_id, project_id or user_id


class Context(_Middleware):
    """Makes the request's :class:`attachd.context.RequestContext` from the identity headers
    that keystonemiddleware (or :class:`NoAuth`) set."""

    def __call__(self, environ, start_response):
        if environ.get('HTTP_X_IDENTITY_STATUS', 'Confirmed') != 'Confirmed':
            response = fault.fault_response(401, _('Authentication required.'))
            return response(environ, start_response)
        ctx = a_context.RequestContext.from_environ(environ)
        if not ctx.project_id:
            response = fault.fault_response(400, _('The token has no project scope.'))
            return response(environ, start_response)
        environ[a_request.CONTEXT_KEY] = ctx
        return self.application(environ, start_response)
