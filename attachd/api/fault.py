"""Errors to Cinder's fault bodies: the one place an exception becomes an HTTP answer.

A fault body has one top-level key named after the status (``badRequest``,
``itemNotFound``...) holding ``code`` and ``message``; python-cinderclient, openstacksdk,
Nova and tempest read exactly that. Unexpected errors are logged with their traceback and
answered with a generic 500 ``computeFault``: no traceback, no internal detail, no HTML.
"""

from oslo_log import log as logging
from oslo_serialization import jsonutils
import webob
import webob.exc

from attachd import exception
from attachd.i18n import _

LOG = logging.getLogger(__name__)

FAULT_NAMES = {
    400: 'badRequest',
    401: 'unauthorized',
    403: 'forbidden',
    404: 'itemNotFound',
    405: 'badMethod',
    409: 'conflictingRequest',
    413: 'overLimit',
    415: 'badMediaType',
    422: 'unprocessableEntity',
    429: 'overLimit',
    501: 'notImplemented',
    503: 'serviceUnavailable',
}
DEFAULT_NAME = 'computeFault'

GENERIC_500 = _('The server has either erred or is incapable of performing the requested '
                'operation.')


def fault_response(code, message, headers=None):
    """A webob response with Cinder's fault body for ``code``."""
    name = FAULT_NAMES.get(code, DEFAULT_NAME)
    body = {name: {'code': code, 'message': message}}
    if code in (413, 429):
        body[name]['retryAfter'] = '0'
    response = webob.Response(status=code, content_type='application/json', charset='UTF-8')
    response.text = jsonutils.dumps(body)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _http_message(exc):
    # webob keeps the explanation given by the raiser in ``detail``; the class's generic
    # text in ``explanation``.
    return exc.detail or exc.explanation or exc.title


def from_exception(exc):
    """The fault response for any exception raised while serving a request."""
    if isinstance(exc, exception.AttachdException):
        code = exc.code
        if exc.safe:
            message = str(exc)
        else:
            LOG.error('Unsafe error %s: %s', type(exc).__name__, exc)
            message = GENERIC_500
        headers = {}
        if isinstance(exc, exception.MethodNotAllowed):
            headers['Allow'] = exc.kwargs.get('allowed', '')
        return fault_response(code, message, headers)
    if isinstance(exc, webob.exc.HTTPException):
        headers = {}
        if exc.status_int == 405 and 'Allow' in exc.headers:
            headers['Allow'] = exc.headers['Allow']
        return fault_response(exc.status_int, _http_message(exc), headers)
    if exception.is_database_unavailable(exc):
        LOG.error('Database unavailable: %s', exc)
        return from_exception(exception.DatabaseUnavailable())
    LOG.exception('Unexpected error while serving the request')
    return fault_response(500, GENERIC_500)


def is_fault_body(response):
    return response.content_type == 'application/json'
