"""The attachments resource (microversion 3.27 on; os-complete 3.44)."""

from oslo_utils import uuidutils

from attachd import exception
from attachd import policy
from attachd.api import idempotency
from attachd.api import listing
from attachd.api import microversion
from attachd.api import request as a_request
from attachd.api import validation
from attachd.api.schemas import attachments as schemas
from attachd.api.views import attachments as views
from attachd.api.views import common as common_views
from attachd.objects import fields
from attachd.objects import volume as volume_obj
from attachd.objects import volume_attachment as attachment_obj
from attachd.policies import attachments as policies
from attachd.volume import attach

# What admins may filter with key~ (3.34): the text columns among the filterable ones.
SORT_KEYS = attachment_obj.VolumeAttachmentList.SORT_KEYS
LIKE_FILTER_KEYS = attachment_obj.VolumeAttachmentList.text_keys(
    set(SORT_KEYS) | set(listing.RESOURCE_FILTERS['attachment']))


def _check_id(attachment_id):
    if not uuidutils.is_uuid_like(attachment_id):
        raise exception.VolumeAttachmentNotFound(attachment_id=attachment_id)


def _get(ctx, attachment_id, admin_metadata=True):
    """The caller's attachment with its volume, and the volume's live attachments
    (another project's attachment is a 404, as a missing one)."""
    _check_id(attachment_id)
    return attachment_obj.VolumeAttachment.get_with_siblings(
        ctx, attachment_id, admin_metadata=admin_metadata)


def _authorize(ctx, action, volume):
    policy.authorize(ctx, action, {'project_id': volume.project_id})


def _show_secrets(ctx, project_id):
    """Whether ``ctx`` sees the credentials in connection_info of ``project_id``'s
    attachments."""
    return policy.is_allowed(ctx, policies.SHOW_CONNECTION_SECRETS,
                             {'project_id': project_id})


def _list(req, view):
    ctx = req.context
    marker, limit, offset = listing.pagination(req)
    sort_keys, sort_dirs = listing.sorting(req, SORT_KEYS)
    filters = listing.filters(req, listing.RESOURCE_FILTERS['attachment'],
                              SORT_KEYS, LIKE_FILTER_KEYS)
    project_only, project_id = listing.scope(req)
    found = attachment_obj.VolumeAttachmentList.get_all(
        ctx, filters, marker, limit, offset, sort_keys, sort_dirs, project_only, project_id)
    return a_request.json_response(
        common_views.page(req, 'attachments', [view(a) for a in found], limit))


@microversion.version_range(microversion.ATTACHMENTS)
def index(req):
    """``GET /attachments``: summaries."""
    return _list(req, views.summary)


@microversion.version_range(microversion.ATTACHMENTS)
def detail(req):
    """``GET /attachments/detail``; a non-admin lists its own project's only."""
    show_secrets = _show_secrets(req.context, req.context.project_id)
    return _list(req, lambda attachment: views.detail(attachment, show_secrets))


@microversion.version_range(microversion.ATTACHMENTS)
def show(req, attachment_id):
    """``GET /attachments/{id}``, with the volume's ``format`` in connection_info and the
    attachments sharing this one's host connection."""
    ctx = req.context
    attachment, siblings = _get(ctx, attachment_id)
    volume_format = attachment.volume.admin_metadata.get('format')
    shared = attachment.shared_connections(siblings)
    show_secrets = _show_secrets(ctx, attachment.volume.project_id)
    return a_request.json_response(
        {'attachment': views.detail(attachment, show_secrets, volume_format, shared)})


@microversion.version_range(microversion.ATTACHMENTS)
@idempotency.idempotent
@validation.schema(schemas.create, microversion.ATTACHMENTS, '3.53')
@validation.schema(schemas.create_v354, microversion.ATTACHMENT_MODE)
def create(req):
    """``POST /attachments``: reserve the volume, and connect it when a connector is given.
    Answers 200, as Cinder."""
    ctx = req.context
    body = req.json['attachment']
    volume = volume_obj.Volume.get_by_id(ctx, body['volume_uuid'], with_admin_metadata=True)
    _authorize(ctx, policies.CREATE, volume)
    if (volume.multiattach and volume.bootable
            and volume.status == fields.VolumeStatus.IN_USE):
        _authorize(ctx, policies.MULTIATTACH_BOOTABLE, volume)
    attachment = attach.create(ctx, volume, body.get('instance_uuid'),
                               body.get('connector'), body.get('mode'))
    return a_request.json_response({'attachment': views.detail(
        attachment, _show_secrets(ctx, volume.project_id))})


@microversion.version_range(microversion.ATTACHMENTS)
@validation.schema(schemas.update)
def update(req, attachment_id):
    """``PUT /attachments/{id}``: connect the attachment to the connector's host."""
    ctx = req.context
    attachment, siblings = _get(ctx, attachment_id)
    volume = attachment.volume
    _authorize(ctx, policies.UPDATE, volume)
    connector = req.json['attachment']['connector']
    attachment = attach.connect(ctx, volume, attachment, connector, siblings)
    return a_request.json_response({'attachment': views.detail(
        attachment, _show_secrets(ctx, volume.project_id))})


@microversion.version_range(microversion.ATTACHMENTS)
def delete(req, attachment_id):
    """``DELETE /attachments/{id}``: the volume's remaining attachments, and the ids of
    those that shared the deleted one's host connection."""
    ctx = req.context
    attachment, siblings = _get(ctx, attachment_id, admin_metadata=False)
    volume = attachment.volume
    _authorize(ctx, policies.DELETE, volume)
    attach.check_deletion_allowed(ctx, attachment)
    remaining, shared = attach.delete(ctx, volume, attachment, siblings)
    return a_request.json_response({
        'attachments': [views.summary(a) for a in remaining],
        'shared_connections_by_attachment': shared,
    })


@microversion.version_range(microversion.ATTACHMENT_COMPLETE)
@validation.schema(schemas.complete)
def _complete(req, attachment_id):
    ctx = req.context
    _check_id(attachment_id)
    # The volume's other attachments play no part: completing one makes the volume in-use.
    attachment = attachment_obj.VolumeAttachment.get_with_volume(ctx, attachment_id)
    _authorize(ctx, policies.COMPLETE, attachment.volume)
    attach.complete(ctx, attachment)
    return a_request.json_response(None, status=204)


_ACTIONS = {'os-complete': _complete}


@microversion.version_range(microversion.ATTACHMENTS)
def action(req, attachment_id):
    """``POST /attachments/{id}/action``: the body's single key names the action."""
    name = a_request.action_name(req, _ACTIONS)
    return _ACTIONS[name](req, attachment_id)
