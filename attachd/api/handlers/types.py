"""Volume types and their extra specs; writes are for admins."""

from oslo_utils import strutils

from attachd import exception
from attachd import policy
from attachd.api import microversion
from attachd.api import request as a_request
from attachd.api import validation
from attachd.api.schemas import types as schemas
from attachd.api.views import types as views
from attachd.i18n import _
from attachd.objects import volume_type as type_obj
from attachd.policies import types as policies


def _authorize(req, rule):
    policy.authorize(req.context, rule, {'project_id': req.context.project_id})


def _get(req, type_id):
    return type_obj.VolumeType.get_by_name_or_id(req.context, type_id)


def _specs(specs):
    # Cinder stores extra specs as strings; booleans and numbers arrive from JSON.
    return {key: str(value) for key, value in specs.items()}


@microversion.version_range(microversion.BASE)
def index(req):
    _authorize(req, policies.GET_ALL)
    found = type_obj.VolumeTypeList.get_all(req.context)
    return a_request.json_response({'volume_types': [views.detail(req, t) for t in found]})


@microversion.version_range(microversion.BASE)
def show(req, type_id):
    """One type by id or name; ``default`` names the default type, as in Cinder."""
    _authorize(req, policies.GET)
    volume_type = (type_obj.VolumeType.get_default(req.context) if type_id == 'default'
                   else _get(req, type_id))
    return a_request.json_response({'volume_type': views.detail(req, volume_type)})


@microversion.version_range(microversion.BASE)
@validation.schema(schemas.create)
def create(req):
    _authorize(req, policies.MANAGE)
    body = req.json['volume_type']
    is_public = strutils.bool_from_string(body.get('os-volume-type-access:is_public', True))
    volume_type = type_obj.VolumeType(req.context, name=body['name'].strip(),
                                      description=body.get('description'),
                                      is_public=is_public,
                                      extra_specs=_specs(body.get('extra_specs') or {}))
    volume_type.create()
    return a_request.json_response({'volume_type': views.created(req, volume_type)})


@microversion.version_range(microversion.BASE)
def delete(req, type_id):
    _authorize(req, policies.MANAGE)
    volume_type = _get(req, type_id)
    if volume_type.is_default:
        raise exception.VolumeTypeDefaultDeletionError(volume_type_id=type_id)
    volume_type.destroy()
    return a_request.json_response(None, status=202)


@microversion.version_range(microversion.BASE)
def list_extra_specs(req, type_id):
    _authorize(req, policies.EXTRA_SPECS_INDEX)
    return a_request.json_response({'extra_specs': views.detail(req, _get(req, type_id))[
        'extra_specs']})


@microversion.version_range(microversion.BASE)
@validation.schema(schemas.set_extra_specs)
def set_extra_specs(req, type_id):
    _authorize(req, policies.EXTRA_SPECS_CREATE)
    volume_type = _get(req, type_id)
    specs = _specs(req.json['extra_specs'])
    volume_type.update_extra_specs(specs)
    return a_request.json_response({'extra_specs': specs})


@microversion.version_range(microversion.BASE)
def show_extra_spec(req, type_id, key):
    _authorize(req, policies.EXTRA_SPECS_SHOW)
    volume_type = _get(req, type_id)
    specs = views.detail(req, volume_type)['extra_specs']
    if key not in specs:
        raise exception.VolumeTypeExtraSpecNotFound(volume_type_id=volume_type.id,
                                                    extra_specs_key=key)
    return a_request.json_response({key: specs[key]})


@microversion.version_range(microversion.BASE)
@validation.schema(schemas.update_extra_spec)
def update_extra_spec(req, type_id, key):
    _authorize(req, policies.EXTRA_SPECS_UPDATE)
    if key not in req.json:
        raise exception.MalformedRequest(reason=_('Request body and URI mismatch'))
    volume_type = _get(req, type_id)
    specs = _specs(req.json)
    volume_type.update_extra_specs(specs)
    return a_request.json_response(specs)


@microversion.version_range(microversion.BASE)
def delete_extra_spec(req, type_id, key):
    _authorize(req, policies.EXTRA_SPECS_DELETE)
    volume_type = _get(req, type_id)
    if key not in volume_type.extra_specs:
        raise exception.VolumeTypeExtraSpecNotFound(volume_type_id=volume_type.id,
                                                    extra_specs_key=key)
    volume_type.delete_extra_spec(key)
    return a_request.json_response(None, status=202)
