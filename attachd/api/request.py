"""The request object handlers receive, and the JSON response they return."""

from oslo_serialization import jsonutils
import webob

from attachd import exception
from attachd.i18n import _

CONTEXT_KEY = 'attachd.context'
BODY_KEY = 'attachd.body'

# Content types a request body may have (Cinder also accepts its vendor type).
JSON_TYPES = ('application/json', 'application/vnd.openstack.volume+json')


class Request(webob.Request):
    """A webob request with attachd's context and the parsed JSON body."""

    @property
    def context(self):
        """The caller's :class:`attachd.context.RequestContext` (set by the auth pipeline)."""
        return self.environ[CONTEXT_KEY]

    @property
    def json(self):
        """The request body parsed as JSON (once).

        :raises HTTPUnsupportedMediaType: the body is not JSON.
        :raises HTTPBadRequest: the body is missing or malformed.
        """
        if BODY_KEY not in self.environ:
            self.environ[BODY_KEY] = self._parse_body()
        return self.environ[BODY_KEY]

    def _parse_body(self):
        content_type = (self.content_type or '').lower()
        if content_type and content_type not in JSON_TYPES:
            raise exception.UnsupportedMediaType(content_type=content_type)
        if not self.body:
            raise exception.MalformedRequest(
                reason=_('Malformed request body: the body is empty.'))
        try:
            body = jsonutils.loads(self.body)
        except ValueError:
            raise exception.MalformedRequest(reason=_('Malformed request body'))
        except RecursionError:
            # Nesting deeper than the interpreter's recursion limit (a few hundred
            # bytes of "[[[[..." fit in any body size limit).
            raise exception.MalformedRequest(reason=_('Malformed request body: nested '
                                                      'too deeply'))
        problem = _unstorable_string(body)
        if problem:
            raise exception.MalformedRequest(reason=_('Malformed request body: %s in a '
                                                      'string') % problem)
        return body

    def application_url_without_version(self):
        """The base URL of the service: the application URL without a trailing /vN."""
        url = self.application_url.rstrip('/')
        head, _sep, tail = url.rpartition('/')
        if tail in ('v3', 'v2', 'v1'):
            return head
        return url


def _unstorable_string(value):
    """What makes a string anywhere in the JSON ``value`` (keys included) unfit to be
    stored or sent on, or None.

    JSON's ``\\u0000`` is NUL, which PostgreSQL cannot store in text; a lone ``\\ud800``
    escape is half a UTF-16 surrogate pair, which no database driver, log or RPC message
    can encode as UTF-8 (the drivers raise UnicodeEncodeError). No name, description,
    metadata or connector needs either, so the whole body is refused here, once, instead
    of each field failing deep down as a 500.

    Iterative: the value may be nested as deep as the parser allowed.
    """
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if '\x00' in item:
                return _('NUL character')
            try:
                item.encode('utf-8')
            except UnicodeEncodeError:
                return _('lone UTF-16 surrogate')
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return None


def action_name(req, actions):
    """The single key of an action body (``{"os-complete": null}``), which must be one of
    ``actions``; 400 otherwise."""
    body = req.json
    if not isinstance(body, dict) or len(body) != 1:
        raise exception.MalformedRequest(reason=_(
            'Malformed request body: an action body has exactly one key, the action.'))
    name = next(iter(body))
    if name not in actions:
        raise exception.MalformedRequest(reason=_('There is no such action: %s') % name)
    return name


def json_response(body, status=200, headers=None):
    """A JSON response; ``body`` None means an empty body (204 / 202 without content)."""
    response = webob.Response(status=status)
    if body is not None:
        response.content_type = 'application/json'
        response.charset = 'UTF-8'
        response.text = jsonutils.dumps(body)
    else:
        response.content_type = None
        response.body = b''
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response

