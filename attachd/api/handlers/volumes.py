"""The volumes resource: what clients need around attachments."""

from oslo_log import log as logging
from oslo_utils import strutils
from oslo_utils import uuidutils

from attachd import exception
from attachd import policy
from attachd.api import idempotency
from attachd.api import listing
from attachd.api import microversion
from attachd.api import request as a_request
from attachd.api import scheduler
from attachd.api import validation
from attachd.api.schemas import volumes as schemas
from attachd.api.views import common as common_views
from attachd.api.views import volumes as views
from attachd.conf import CONF
from attachd.i18n import _
from attachd.objects import fields
from attachd.objects import volume as volume_obj
from attachd.objects import volume_type as type_obj
from attachd.policies import volumes as policies
from attachd.volume import lifecycle

LOG = logging.getLogger(__name__)

# What admins may filter with key~ (3.34): the text columns among the filterable ones.
SORT_KEYS = volume_obj.VolumeList.SORT_KEYS
LIKE_FILTER_KEYS = volume_obj.VolumeList.text_keys(
    set(SORT_KEYS) | set(listing.RESOURCE_FILTERS['volume']))


def get_volume(ctx, volume_id, with_admin_metadata=False):
    """The caller's volume (another project's is a 404, as a missing one)."""
    if not uuidutils.is_uuid_like(volume_id):
        raise exception.VolumeNotFound(volume_id=volume_id)
    return volume_obj.Volume.get_by_id(ctx, volume_id,
                                       with_admin_metadata=with_admin_metadata)


def _list(req, view):
    ctx = req.context
    policy.authorize(ctx, policies.GET_ALL, {'project_id': ctx.project_id})
    marker, limit, offset = listing.pagination(req)
    sort_keys, sort_dirs = listing.sorting(req, SORT_KEYS)
    filters = listing.filters(req, listing.RESOURCE_FILTERS['volume'],
                              SORT_KEYS, LIKE_FILTER_KEYS)
    if 'bootable' in filters:
        filters['bootable'] = strutils.bool_from_string(filters['bootable'])
    project_only, project_id = listing.scope(req)
    if project_id:
        filters['project_id'] = project_id
    found = volume_obj.VolumeList.get_all(ctx, filters, marker, limit, offset, sort_keys,
                                          sort_dirs, project_only)
    return a_request.json_response(
        common_views.page(req, 'volumes', [view(req, v) for v in found], limit))


@microversion.version_range(microversion.BASE)
def index(req):
    return _list(req, views.summary)


@microversion.version_range(microversion.BASE)
def detail(req):
    return _list(req, views.detail)


@microversion.version_range(microversion.BASE)
def show(req, volume_id):
    ctx = req.context
    # The view shows the readonly admin flag: read in the volume's own transaction.
    volume = get_volume(ctx, volume_id, with_admin_metadata=True)
    policy.authorize(ctx, policies.GET, {'project_id': volume.project_id})
    return a_request.json_response({'volume': views.detail(req, volume)})


def _volume_type(ctx, name_or_id):
    """The type named in a create, else ``[DEFAULT] default_volume_type`` (as Cinder)."""
    if not name_or_id:
        return type_obj.VolumeType.get_default(ctx)
    try:
        return type_obj.VolumeType.get_by_name_or_id(ctx, name_or_id)
    except exception.VolumeTypeNotFound:
        raise exception.InvalidInput(reason=_('Volume type %s not found.') % name_or_id)


@microversion.version_range(microversion.BASE)
@idempotency.idempotent
@validation.schema(schemas.create)
def create(req):
    """``POST /volumes``: 202; the volume's manager creates the storage asynchronously
    (``creating`` -> ``available``, or ``error``)."""
    ctx = req.context
    body = req.json['volume']
    policy.authorize(ctx, policies.CREATE, {'project_id': ctx.project_id})
    sources = [key for key in schemas.UNSUPPORTED_SOURCES if body.get(key)]
    if sources:
        raise exception.InvalidInput(reason=_('attachd creates blank volumes only; %s is '
                                              'not supported.') % ', '.join(sources))
    size = int(body['size'])
    # The schema bounds integers only; a size sent as a string ("0", or beyond the
    # column's range) is checked here.
    if not schemas.size['minimum'] <= size <= schemas.size['maximum']:
        raise exception.InvalidInput(reason=_('size must be an integer between %(min)d '
                                              'and %(max)d')
                                     % {'min': schemas.size['minimum'],
                                        'max': schemas.size['maximum']})
    zone = body.get('availability_zone') or CONF.storage_availability_zone
    if zone != CONF.storage_availability_zone:
        raise exception.InvalidInput(reason=_("Availability zone '%s' is invalid.") % zone)
    volume_type = _volume_type(ctx, body.get('volume_type'))
    multiattach = strutils.bool_from_string(body.get('multiattach', False))
    if volume_type is not None and volume_type.is_multiattach:
        multiattach = True
    if multiattach:
        policy.authorize(ctx, policies.MULTIATTACH, {'project_id': ctx.project_id})
    volume = volume_obj.Volume(
        ctx, size=size, project_id=ctx.project_id, user_id=ctx.user_id,
        name=body.get('name', body.get('display_name')),
        description=body.get('description', body.get('display_description')),
        availability_zone=zone, status=fields.VolumeStatus.CREATING,
        attach_status=fields.VolumeAttachStatus.DETACHED, multiattach=multiattach,
        volume_type_id=volume_type.id if volume_type else None)
    service = scheduler.find_manager(ctx, volume_type)
    if service is None:
        LOG.warning('No live manager for backend %s: volume created in error',
                    scheduler.backend_name(volume_type))
    else:
        for key, value in scheduler.placement(service).items():
            setattr(volume, key, value)
    lifecycle.create(ctx, volume, body.get('metadata'))
    return a_request.json_response({'volume': views.created(req, volume)}, status=202)


@microversion.version_range(microversion.BASE)
def delete(req, volume_id):
    """``DELETE /volumes/{id}``: 400 while attached or reserved; else 202 and the manager
    deletes the storage and the row."""
    ctx = req.context
    volume = get_volume(ctx, volume_id)
    policy.authorize(ctx, policies.DELETE, {'project_id': volume.project_id})
    lifecycle.delete(ctx, volume)
    return a_request.json_response(None, status=202)


@microversion.version_range(microversion.BASE)
def show_encryption(req, volume_id):
    """``GET /volumes/{id}/encryption``: attachd volumes are not encrypted by a key
    manager; the key id is shown as stored (null)."""
    ctx = req.context
    volume = get_volume(ctx, volume_id)
    policy.authorize(ctx, policies.ENCRYPTION_METADATA, {'project_id': volume.project_id})
    if not volume.encryption_key_id:
        return a_request.json_response({'encryption_key_id': None})
    raise exception.NotImplementedYet(what=_('Encrypted volumes'))
