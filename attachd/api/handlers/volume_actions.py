"""Volume actions (``POST /volumes/{id}/action``): Nova's detach bracket, the pre-3.27
attach API and the admin actions.

The old attach calls are a thin layer (:mod:`attachd.volume.legacy`) over the attachments
of :mod:`attachd.volume.attach`, not a second state machine: os-reserve creates a
reservation (the volume shows ``attaching``, as in Cinder), os-initialize_connection
connects it through the manager, os-attach completes it, os-terminate_connection revokes
the connection and os-detach deletes the attachment.
"""

from oslo_utils import strutils

from attachd import exception
from attachd import policy
from attachd.api import microversion
from attachd.api import request as a_request
from attachd.api import validation
from attachd.api.handlers import volumes
from attachd.api.schemas import volume_actions as schemas
from attachd.i18n import _
from attachd.objects import fields
from attachd.policies import volume_actions as policies
from attachd.volume import attach
from attachd.volume import legacy
from attachd.volume import lifecycle

VolumeStatus = fields.VolumeStatus
AttachStatus = fields.VolumeAttachStatus

_NOT_MIGRATING = (None, 'success', 'error', 'deleting')


def _accepted():
    return a_request.json_response(None, status=202)


def _reserve(req, volume, args):
    legacy.reserve(req.context, volume)
    return _accepted()


def _unreserve(req, volume, args):
    legacy.unreserve(req.context, volume)
    return _accepted()


def _initialize_connection(req, volume, args):
    info = legacy.initialize_connection(req.context, volume, args['connector'])
    return a_request.json_response({'connection_info': info})


def _attach(req, volume, args):
    legacy.mark_attached(req.context, volume, args.get('instance_uuid'),
                         args.get('host_name'), args['mountpoint'])
    return _accepted()


def _detach(req, volume, args):
    ctx = req.context
    attachment = legacy.find_for_detach(ctx, volume, (args or {}).get('attachment_id'))
    attach.check_deletion_allowed(ctx, attachment)
    attach.delete(ctx, volume, attachment)
    return _accepted()


def _terminate_connection(req, volume, args):
    ctx = req.context
    attachment = legacy.find_for_connector(ctx, volume, args['connector'])
    if attachment is None:
        # Nothing is connected for this host: as Cinder, terminating is idempotent.
        return _accepted()
    attach.check_deletion_allowed(ctx, attachment)
    legacy.terminate_connection(ctx, volume, attachment)
    return _accepted()


def _force_detach(req, volume, args):
    ctx = req.context
    args = args or {}
    if args.get('attachment_id'):
        targets = [legacy.find_for_detach(ctx, volume, args['attachment_id'])]
    elif args.get('connector'):
        found = legacy.find_for_connector(ctx, volume, args['connector'])
        targets = [found] if found else []
    else:
        targets = list(volume.volume_attachment)
    # Even an admin may not pull a volume from under a server Nova manages (Cinder applies
    # the same rule to os-force_detach).
    for attachment in targets:
        attach.check_deletion_allowed(ctx, attachment)
    for attachment in targets:
        attach.delete(ctx, volume, attachment)
    return _accepted()


def _begin_detaching(req, volume, args):
    if volume.migration_status not in _NOT_MIGRATING:
        # Cinder: a silent no-op while migrating; the migration sets the final status.
        return _accepted()
    if not volume.conditional_update({'status': VolumeStatus.DETACHING},
                                     {'status': VolumeStatus.IN_USE,
                                      'attach_status': AttachStatus.ATTACHED}):
        raise exception.InvalidVolume(reason=_(
            "Unable to detach volume. Volume status must be 'in-use' and attach_status "
            "must be 'attached' to detach."))
    return _accepted()


def _roll_detaching(req, volume, args):
    volume.conditional_update({'status': VolumeStatus.IN_USE},
                              {'status': VolumeStatus.DETACHING})
    return _accepted()


def _reset_status(req, volume, args):
    """Admin repair: ``attach_status: detached`` deletes every attachment in the database
    only (no backend call), then the requested statuses are written as given."""
    if args.get('attach_status') == AttachStatus.DETACHED:
        for attachment in volume.volume_attachment:
            try:
                attachment.destroy()
            except exception.VolumeAttachmentNotFound:
                pass
    values = {key: args[key] for key in ('status', 'attach_status', 'migration_status')
              if key in args}
    for key, value in values.items():
        setattr(volume, key, value)
    volume.save()
    return _accepted()


def _update_readonly_flag(req, volume, args):
    readonly = strutils.bool_from_string(args['readonly'], strict=True)
    volume.update_admin_metadata({'readonly': str(readonly)})
    return _accepted()


def _reimage(req, volume, args):
    """os-reimage (3.68, Nova's rebuild of a volume-backed server): 202, and the manager
    wipes the volume; attachd has no image service, so the image itself is not written.

    The policy depends on the volume, as in Cinder: ``volume:reimage_reserved`` for a
    reserved volume, ``volume:reimage`` otherwise.
    """
    ctx = req.context
    rule = (policies.REIMAGE_RESERVED if volume.status == VolumeStatus.RESERVED
            else policies.REIMAGE)
    policy.authorize(ctx, rule, {'project_id': volume.project_id})
    reserved = strutils.bool_from_string(args.get('reimage_reserved', False), strict=True)
    lifecycle.reimage(ctx, volume, reserved)
    return _accepted()


# name: (handler, body schema, policy rule, or None when the handler authorizes)
_ACTIONS = {
    'os-reserve': (_reserve, schemas.reserve, policies.RESERVE),
    'os-unreserve': (_unreserve, schemas.unreserve, policies.UNRESERVE),
    'os-initialize_connection': (_initialize_connection, schemas.initialize_connection,
                                 policies.INITIALIZE_CONNECTION),
    'os-attach': (_attach, schemas.attach, policies.ATTACH),
    'os-detach': (_detach, schemas.detach, policies.DETACH),
    'os-terminate_connection': (_terminate_connection, schemas.terminate_connection,
                                policies.TERMINATE_CONNECTION),
    'os-force_detach': (_force_detach, schemas.force_detach, policies.FORCE_DETACH),
    'os-begin_detaching': (_begin_detaching, schemas.begin_detaching,
                           policies.BEGIN_DETACHING),
    'os-roll_detaching': (_roll_detaching, schemas.roll_detaching, policies.ROLL_DETACHING),
    'os-reset_status': (_reset_status, schemas.reset_status, policies.RESET_STATUS),
    'os-update_readonly_flag': (_update_readonly_flag, schemas.update_readonly_flag,
                                policies.UPDATE_READONLY),
    'os-reimage': (_reimage, schemas.reimage, None),
}

# Actions added after 3.0, by the version that adds them (a plain 404 before it).
_ACTION_VERSIONS = {'os-reimage': microversion.REIMAGE}


@microversion.version_range(microversion.BASE)
def action(req, volume_id):
    """Dispatch on the body's single key; 400 for an unknown action."""
    ctx = req.context
    name = a_request.action_name(req, _ACTIONS)
    if name in _ACTION_VERSIONS and not microversion.is_supported(req,
                                                                  _ACTION_VERSIONS[name]):
        raise microversion.not_found(req, _ACTION_VERSIONS[name])
    handler, body_schema, rule = _ACTIONS[name]
    validation.validate(body_schema, req.json)
    volume = volumes.get_volume(ctx, volume_id)
    if rule is not None:
        policy.authorize(ctx, rule, {'project_id': volume.project_id})
    return handler(req, volume, req.json[name])
