"""A volume's user metadata (``/volumes/{id}/metadata``): Cinder's calls, shapes and codes.

Ironic sets metadata on every attach and detach; Cinder's ETags (3.15, ``If-Match``) are
not implemented: a conditional write is done unconditionally.
"""

from attachd import exception
from attachd import policy
from attachd.api import microversion
from attachd.api import request as a_request
from attachd.api import validation
from attachd.api.handlers import volumes
from attachd.api.schemas import volume_metadata as schemas
from attachd.i18n import _
from attachd.objects import fields
from attachd.policies import volume_metadata as policies

# Cinder refuses metadata writes while the volume is in these statuses.
_FROZEN = (fields.VolumeStatus.MAINTENANCE, fields.VolumeStatus.UPLOADING)


def _volume(req, volume_id, rule):
    volume = volumes.get_volume(req.context, volume_id)
    policy.authorize(req.context, rule, {'project_id': volume.project_id})
    return volume


def _writable(req, volume_id, rule):
    volume = _volume(req, volume_id, rule)
    if volume.status in _FROZEN:
        raise exception.InvalidVolume(reason=_(
            'Updating volume metadata is not allowed for volumes in %s status.')
            % volume.status)
    return volume


@microversion.version_range(microversion.BASE)
def index(req, volume_id):
    volume = _volume(req, volume_id, policies.GET)
    return a_request.json_response({'metadata': dict(volume.metadata)})


@microversion.version_range(microversion.BASE)
@validation.schema(schemas.create)
def create(req, volume_id):
    """``POST``: add or change the keys given; answers with all the metadata."""
    volume = _writable(req, volume_id, policies.CREATE)
    return a_request.json_response(
        {'metadata': volume.update_metadata(req.json['metadata'])})


@microversion.version_range(microversion.BASE)
@validation.schema(schemas.create)
def update_all(req, volume_id):
    """``PUT``: replace the metadata with the keys given."""
    volume = _writable(req, volume_id, policies.UPDATE)
    return a_request.json_response(
        {'metadata': volume.update_metadata(req.json['metadata'], delete=True)})


@microversion.version_range(microversion.BASE)
def show(req, volume_id, key):
    volume = _volume(req, volume_id, policies.GET)
    if key not in volume.metadata:
        raise exception.VolumeMetadataNotFound(volume_id=volume_id, metadata_key=key)
    return a_request.json_response({'meta': {key: volume.metadata[key]}})


@microversion.version_range(microversion.BASE)
@validation.schema(schemas.update)
def update(req, volume_id, key):
    """``PUT /metadata/{key}``: the body names that key, and only it."""
    item = req.json['meta']
    if key not in item:
        raise exception.InvalidInput(reason=_('Request body and URI mismatch'))
    volume = _writable(req, volume_id, policies.UPDATE)
    volume.update_metadata(item)
    return a_request.json_response({'meta': item})


@microversion.version_range(microversion.BASE)
def delete(req, volume_id, key):
    """200 with an empty body, as Cinder."""
    volume = _writable(req, volume_id, policies.DELETE)
    volume.delete_metadata_key(key)
    return a_request.json_response(None, status=200)
