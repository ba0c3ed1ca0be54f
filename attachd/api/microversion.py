"""Microversions of the volume API: what each version adds, and the per-handler ranges.

Clients ask for a version with ``OpenStack-API-Version: volume 3.NN``; no header means the
minimum (3.0), ``latest`` the maximum. attachd accepts every Cinder version from 3.0 to 3.71
so that clients negotiating Cinder's range work unchanged; the versions that change
something are the constants below, described in doc/source/api-ref/microversion-history.rst
(a test keeps the two in step); the others change nothing in the resources attachd serves.

Handlers declare the range they serve with :func:`version_range`; code that behaves
differently inside one handler asks :func:`is_supported` with one of the feature names
below, never compares numbers itself.
"""

import functools
import re

import microversion_parse

from attachd import exception
from attachd.i18n import _

SERVICE_TYPE = 'volume'
HEADER = 'OpenStack-API-Version'
ENVIRON_HEADER = 'HTTP_OPENSTACK_API_VERSION'
ENVIRON_KEY = 'attachd.microversion'

MIN_VERSION = '3.0'
MAX_VERSION = '3.71'
VERSIONS = ['3.%d' % minor for minor in range(0, 72)]

# The features, by name, with the version that adds them.
BASE = '3.0'                       # volumes, types, volume actions, the pre-3.27 attach API
GROUP_ID = '3.13'                  # volume group_id
PROVIDER_ID = '3.21'               # volume provider_id (admins)
ATTACHMENTS = '3.27'               # the attachments resource
FILTER_VALIDATION = '3.31'         # non-admin list with an unknown filter -> 400
RESOURCE_FILTERS = '3.33'          # GET /resource_filters
LIKE_FILTERS = '3.34'              # key~=value list filters
ATTACHMENT_COMPLETE = '3.44'       # the os-complete attachment action
SHARED_TARGETS = '3.48'            # volume shared_targets and service_uuid
MULTIATTACH_CAPABLE = '3.50'       # marker only: this service can multiattach
ATTACHMENT_MODE = '3.54'           # mode (rw/ro) in attachment create
CLUSTER_NAME = '3.61'              # volume cluster_name (admins)
VOLUME_TYPE_ID = '3.63'            # volume volume_type_id
ENCRYPTION_KEY_ID = '3.64'         # volume encryption_key_id
CONSUMES_QUOTA = '3.65'            # volume consumes_quota
PROJECT_ID_OPTIONAL = '3.67'       # documented URLs without project id (both always work)
REIMAGE = '3.68'                   # the os-reimage volume action
SHARED_TARGETS_TRISTATE = '3.69'   # shared_targets may be null ("always lock")

_VERSION_RE = re.compile(r'^([1-9]\d*)\.([1-9]\d*|0)$')


class MalformedVersion(ValueError):
    """The header's volume version is not of the form X.Y."""


class UnsupportedVersion(ValueError):
    """The header's volume version is outside [MIN_VERSION, MAX_VERSION]."""


def parse(version_string):
    """``'3.27'`` -> ``Version(3, 27)``."""
    return microversion_parse.parse_version_string(version_string)


# Every supported version parsed once: the middleware and each feature check look versions
# up instead of parsing the same strings on every request.
_PARSED = {v: parse(v) for v in VERSIONS}


def _version(version_string):
    return _PARSED.get(version_string) or parse(version_string)


def from_environ(environ):
    """The requested version (a ``microversion_parse.Version``) of a WSGI request.

    :raises MalformedVersion: not X.Y (answer 400).
    :raises UnsupportedVersion: outside the supported range (answer 406).
    """
    # The one header handed to microversion_parse: get_version would first fold every
    # header of the request into a new dict.
    value = environ.get(ENVIRON_HEADER)
    requested = None
    if value is not None:
        requested = microversion_parse.check_standard_header(
            {microversion_parse.STANDARD_HEADER: value}, SERVICE_TYPE)
    if requested is None:
        requested = MIN_VERSION
    requested = requested.strip()
    if requested == 'latest':
        requested = MAX_VERSION
    version = _PARSED.get(requested)
    if version is not None:
        return version
    if not _VERSION_RE.match(requested):
        raise MalformedVersion(
            _('Invalid API version request string %s: it must be of the form X.Y.')
            % requested)
    raise UnsupportedVersion(
        _('Version %(v)s is not supported by the API. Minimum is %(min)s and maximum '
          'is %(max)s.') % {'v': requested, 'min': MIN_VERSION, 'max': MAX_VERSION})


def of(req):
    """The version of a request (the minimum when the middleware has not run)."""
    return req.environ.get(ENVIRON_KEY) or _PARSED[MIN_VERSION]


def is_supported(req, feature_version):
    """True when the request's version includes the feature (a constant of this module)."""
    return of(req) >= _version(feature_version)


def matches(req, min_version, max_version=None):
    version = of(req)
    if version < _version(min_version):
        return False
    return max_version is None or version <= _version(max_version)


def not_found(req, min_version, max_version=None):
    """The 404 of a method the request's version does not have (Cinder's status, as if the
    method did not exist), whose message names the versions that have it: a newcomer's
    request without ``OpenStack-API-Version`` asks for 3.0, which has no attachments."""
    requested = '%d.%d' % of(req)
    if of(req) < _version(min_version):
        hint = _('It needs microversion %(min)s or later; this request asked for '
                 '%(requested)s. Send the header "%(header)s: %(service)s %(min)s" (or '
                 'later, up to %(max)s).') % {
            'min': min_version, 'requested': requested, 'header': HEADER,
            'service': SERVICE_TYPE, 'max': MAX_VERSION}
    else:
        hint = _('It exists up to microversion %(max)s; this request asked for '
                 '%(requested)s.') % {'max': max_version, 'requested': requested}
    return exception.ResourceNotFound(
        message='%s %s' % (exception.ResourceNotFound.msg_fmt, hint))


def version_range(min_version, max_version=None):
    """Decorate a handler with the versions it serves; other versions get a 404, as if the
    method did not exist (what Cinder answers), whose message names the versions
    (:func:`not_found`)."""
    def decorator(handler):
        @functools.wraps(handler)
        def wrapper(req, *args, **kwargs):
            if not matches(req, min_version, max_version):
                raise not_found(req, min_version, max_version)
            return handler(req, *args, **kwargs)
        wrapper.min_version = min_version
        wrapper.max_version = max_version
        return wrapper
    return decorator


def response_header_value(version):
    return '%s %s' % (SERVICE_TYPE, version)
