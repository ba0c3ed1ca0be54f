"""Query parameters of list requests: pagination, sorting, filters and project scope."""


from attachd import exception
from attachd.api import microversion
from attachd.conf import CONF
from attachd.i18n import _

PAGINATION_KEYS = ('limit', 'marker', 'offset')
SORT_KEYS = ('sort', 'sort_key', 'sort_dir')
SCOPE_KEYS = ('all_tenants', 'project_id')
_NOT_FILTERS = PAGINATION_KEYS + SORT_KEYS + SCOPE_KEYS + ('with_count',)

# The filters non-admins may use, per resource (Cinder's etc/cinder/resource_filters.json;
# served by GET /resource_filters).
RESOURCE_FILTERS = {
    'attachment': ['volume_id', 'status', 'instance_id', 'attach_status'],
    'volume': ['name', 'status', 'bootable', 'migration_status', 'availability_zone',
               'size'],
}


def _non_negative_int(req, name):
    value = req.GET.get(name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise exception.MalformedRequest(
            reason=_('%(name)s param must be an integer >= 0, not %(value)s.')
            % {'name': name, 'value': value})
    return number


def pagination(req):
    """``(marker, limit, offset)``; the limit defaults to and is capped at
    ``[api] max_limit``."""
    limit = _non_negative_int(req, 'limit')
    if limit is None or limit > CONF.api.max_limit:
        limit = CONF.api.max_limit
    return req.GET.get('marker'), limit, _non_negative_int(req, 'offset')


def sorting(req, allowed_keys):
    """``(sort_keys, sort_dirs)`` from ``sort=key[:dir],...`` or the deprecated
    ``sort_key``/``sort_dir`` (not both)."""
    sort = req.GET.get('sort')
    if sort and ('sort_key' in req.GET or 'sort_dir' in req.GET):
        raise exception.MalformedRequest(reason=_(
            "The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be used "
            "with the 'sort' parameter."))
    keys, dirs = [], []
    if sort:
        for item in sort.split(','):
            key, _sep, direction = item.strip().partition(':')
            keys.append(key.strip())
            dirs.append(direction.strip() or 'desc')
    elif 'sort_key' in req.GET:
        keys.append(req.GET['sort_key'])
        dirs.append(req.GET.get('sort_dir', 'desc'))
    for key in keys:
        if key not in allowed_keys:
            raise exception.MalformedRequest(reason=_('Invalid sort key %s.') % key)
    for direction in dirs:
        if direction.lower() not in ('asc', 'desc'):
            raise exception.MalformedRequest(
                reason=_('Unknown sort direction %s, must be asc or desc.') % direction)
    return keys, [d.lower() for d in dirs]


def scope(req):
    """``(project_only, project_id)``: admins see every project with ``all_tenants`` (any
    value), optionally one with ``project_id``; for others ``all_tenants`` is ignored, as
    in Cinder (python-cinderclient always sends it)."""
    ctx = req.context
    if not ctx.is_admin:
        return True, None
    if 'all_tenants' in req.GET:
        return False, req.GET.get('project_id')
    # The database layer lets admins see everything: scope them to their own project.
    return False, ctx.project_id


def filters(req, allowed, admin_allowed=(), admin_like=()):
    """The filters of a list request.

    Non-admins may use ``allowed``; admins also ``admin_allowed``. From microversion 3.34
    on, ``key~=value`` asks for a substring (LIKE) match: non-admins only on the keys
    ``allowed`` lists as ``key~`` (none by default, as Cinder), admins also on
    ``admin_like`` (text columns). Before 3.34 a ``key~`` is unknown like any other key. A
    key outside these is a 400 from 3.31 on and silently ignored before, as Cinder does.
    """
    ctx = req.context
    permitted = set(allowed) | (set(admin_allowed) if ctx.is_admin else set())
    if not microversion.is_supported(req, microversion.LIKE_FILTERS):
        permitted = {key for key in permitted if not key.endswith('~')}
    elif ctx.is_admin:
        permitted |= {key + '~' for key in admin_like}
    result, invalid = {}, []
    for key, value in req.GET.items():
        if key in _NOT_FILTERS:
            if key == 'project_id' and not ctx.is_admin and value != ctx.project_id:
                invalid.append(key)
            continue
        if key in permitted:
            result[key] = value
        else:
            invalid.append(key)
    if invalid and microversion.is_supported(req, microversion.FILTER_VALIDATION):
        raise exception.MalformedRequest(
            reason=_('Invalid filters %s are found in query options.')
            % ','.join(sorted(invalid)))
    return result
