"""Idempotent creates: the ``Idempotency-Key`` request header (IETF httpapi draft "The
Idempotency-Key HTTP Header Field").

A handler decorated with :func:`idempotent` (``POST /volumes``, ``POST /attachments``) runs
as before when the request has no ``Idempotency-Key``. With one, the key is the caller's
(project and user) and names one request, identified by its fingerprint: the handler, the
microversion, the service token's user and the JSON body (parsed, so key order and spacing
do not count). Then:

- the first request with the key holds it while it runs; its success (2xx) is stored and
  replayed -- status, headers and body, with ``Idempotent-Replayed: true`` -- to every
  identical request for ``[api] idempotency_ttl`` seconds, creating nothing;
- a request with the key while the first still runs: 409;
- a request with the key that is not the first's: 422;
- a failure (any 4xx or 5xx answer, an exception) stores nothing and frees the key: a
  failed create changed nothing, so the draft's "retry after an error" may reuse the key,
  with the same request or a corrected one. A process that dies mid-request cannot free
  it: its hold is a lease that ends after ``[api] idempotency_lease`` seconds.

The decorator sits inside :func:`attachd.api.microversion.version_range` (a version without
the handler never touches a key) and outside the schema validation, policy checks and the
handler, whose errors it sees as exceptions; the fault wrapper renders them as usual.
"""

import functools
import hashlib

from oslo_log import log as logging
from oslo_serialization import jsonutils
import webob

from attachd import exception
from attachd.api import microversion
from attachd.i18n import _
from attachd.objects import idempotency_key as key_obj

LOG = logging.getLogger(__name__)

HEADER = 'Idempotency-Key'
ENVIRON_HEADER = 'HTTP_IDEMPOTENCY_KEY'
REPLAYED_HEADER = 'Idempotent-Replayed'
MAX_KEY_LENGTH = 255

# Headers of the stored answer that the replay recomputes or that the pipeline adds anew
# (request id, microversion, Vary).
_NOT_STORED = ('content-length',)


def parse_key(value):
    """The key of an ``Idempotency-Key`` header value.

    The draft's value is a Structured Field string (RFC 8941): ``"..."`` with ``\\"`` and
    ``\\\\`` escapes. A bare value (what many clients send) is taken as it is, without
    quotes or backslashes. Either way the key is 1 to 255 printable ASCII characters.

    :raises MalformedRequest: any other value (400).
    """
    key = value.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        inner, key, escaped = key[1:-1], '', False
        for char in inner:
            if escaped:
                if char not in '"\\':
                    key = None
                    break
                key, escaped = key + char, False
            elif char == '\\':
                escaped = True
            elif char == '"':
                key = None
                break
            else:
                key += char
        if escaped:
            key = None
    elif '"' in key or '\\' in key:
        # Half a string: a quote or escape belongs inside "...".
        key = None
    if (not key or len(key) > MAX_KEY_LENGTH
            or any(not ' ' <= char <= '~' for char in key)):
        raise exception.MalformedRequest(reason=_(
            'Invalid %(header)s header: the key must be 1 to %(max)d printable ASCII '
            'characters, as a string ("...").') % {'header': HEADER, 'max': MAX_KEY_LENGTH})
    return key


def fingerprint(req, handler):
    """What makes two requests with the same key the same request (a SHA-256 hex digest).

    The service token's user counts: the answer shows connection credentials to a
    service only, so a request without that token must not replay one made with it.
    """
    identity = [handler.__module__ + '.' + handler.__qualname__,
                '%d.%d' % microversion.of(req),
                req.context.service_user_id,
                req.json]
    text = jsonutils.dumps(identity, sort_keys=True, separators=(',', ':'))
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def _replay(key):
    response = webob.Response(status=key.response_status)
    for name, value in key.response_headers.items():
        response.headers[name] = value
    response.text = key.response_body
    response.headers[REPLAYED_HEADER] = 'true'
    return response


def _release(key):
    try:
        key.release()
    except Exception:
        # The request's own error is what the caller must see; its lease frees the key.
        LOG.exception('Could not free idempotency key %s of project %s',
                      key.idempotency_key, key.project_id)


def idempotent(handler):
    """Make a create handler honour ``Idempotency-Key`` (see the module docstring)."""
    @functools.wraps(handler)
    def wrapper(req, *args, **kwargs):
        value = req.environ.get(ENVIRON_HEADER)
        if value is None:
            return handler(req, *args, **kwargs)
        key = key_obj.IdempotencyKey.claim(req.context, parse_key(value),
                                           fingerprint(req, handler))
        if key.is_completed:
            LOG.info('Idempotency key %s of project %s: replaying the answer of its '
                     'first request', key.idempotency_key, key.project_id)
            return _replay(key)
        try:
            response = handler(req, *args, **kwargs)
        except BaseException:
            _release(key)
            raise
        if response.status_int >= 400:
            _release(key)
            return response
        headers = {name: value for name, value in response.headerlist
                   if name.lower() not in _NOT_STORED}
        try:
            key.complete(response.status_int, headers, response.text)
        except Exception:
            # The create succeeded: its caller gets its answer. A retry with the key runs
            # it again once the lease ends.
            LOG.exception('Could not store the answer of idempotency key %s of project %s',
                          key.idempotency_key, key.project_id)
        return response
    wrapper.idempotent = True
    return wrapper
