"""Volume views: the fields tempest's volume schema requires, per microversion."""

from attachd import policy
from attachd.api import microversion
from attachd.api.views import common
from attachd.objects import fields
from attachd.policies import volumes as policies


def _attachment(req, volume, attachment):
    ctx = req.context
    return {
        'id': volume.id,
        'attachment_id': attachment.id,
        'volume_id': volume.id,
        'server_id': attachment.instance_uuid,
        # Since 2025 Cinder shows the host to admins and services (glance_store needs it).
        'host_name': attachment.attached_host if (ctx.is_admin or ctx.is_service) else None,
        'device': attachment.mountpoint,
        'attached_at': common.timestamp(attachment.attach_time),
    }


def summary(req, volume):
    return {'id': volume.id, 'name': volume.name,
            'links': common.links(req, 'volumes', volume.id)}


def _shared_targets(req, volume):
    if microversion.is_supported(req, microversion.SHARED_TARGETS_TRISTATE):
        return volume.shared_targets
    # Below 3.69 null ("always lock") is shown as true.
    return True if volume.shared_targets is None else volume.shared_targets


def _metadata(volume):
    # Cinder shows the readonly admin flag among the metadata, over a user key of the same
    # name (tempest's test_volume_readonly_update reads it there).
    metadata = dict(volume.metadata)
    if 'readonly' in volume.admin_metadata:
        metadata['readonly'] = volume.admin_metadata['readonly']
    return metadata


def created(req, volume):
    """The answer to ``POST /volumes``: as in Cinder, the detail view without the
    attributes that Cinder's extensions add to show and list only (tenant, host, migration
    status)."""
    return _detail(req, volume, extended=False)


def detail(req, volume):
    """A volume as show and ``/volumes/detail`` present it."""
    return _detail(req, volume, extended=True)


def _detail(req, volume, extended):
    ctx = req.context
    target = {'project_id': volume.project_id}
    view = summary(req, volume)
    view.update({
        'status': volume.status,
        'size': volume.size,
        'availability_zone': volume.availability_zone,
        'created_at': common.timestamp(volume.created_at),
        'updated_at': common.timestamp(volume.updated_at),
        'description': volume.description,
        'volume_type': volume.volume_type.name if volume.volume_type else None,
        'snapshot_id': None,
        'source_volid': None,
        'consistencygroup_id': None,
        'metadata': _metadata(volume),
        'user_id': volume.user_id,
        'bootable': 'true' if volume.bootable else 'false',
        'encrypted': bool(volume.encryption_key_id),
        'replication_status': 'disabled',
        'multiattach': bool(volume.multiattach),
        # Only attachments a host uses are listed, as in Cinder.
        'attachments': [_attachment(req, volume, a) for a in volume.volume_attachment
                        if a.attach_status == fields.VolumeAttachStatus.ATTACHED],
    })
    if extended and policy.is_allowed(ctx, policies.TENANT_ATTRIBUTE, target):
        view['os-vol-tenant-attr:tenant_id'] = volume.project_id
    if extended and policy.is_allowed(ctx, policies.HOST_ATTRIBUTE, target):
        # Cinder's host@backend#pool; attachd's pool is the backend itself.
        view['os-vol-host-attr:host'] = ('%s#%s' % (volume.host, volume.backend)
                                         if volume.host else None)
    if policy.is_allowed(ctx, policies.MIG_STATUS_ATTRIBUTE, target):
        view['migration_status'] = volume.migration_status
        if extended:
            view['os-vol-mig-status-attr:migstat'] = volume.migration_status
            view['os-vol-mig-status-attr:name_id'] = None
    if microversion.is_supported(req, microversion.GROUP_ID):
        view['group_id'] = None
    if microversion.is_supported(req, microversion.PROVIDER_ID) and ctx.is_admin:
        view['provider_id'] = None
    if microversion.is_supported(req, microversion.SHARED_TARGETS):
        view['service_uuid'] = volume.service_uuid
        view['shared_targets'] = _shared_targets(req, volume)
    if microversion.is_supported(req, microversion.CLUSTER_NAME) and ctx.is_admin:
        view['cluster_name'] = volume.cluster_name
    if microversion.is_supported(req, microversion.VOLUME_TYPE_ID):
        view['volume_type_id'] = volume.volume_type_id
    if microversion.is_supported(req, microversion.ENCRYPTION_KEY_ID):
        view['encryption_key_id'] = volume.encryption_key_id
    if microversion.is_supported(req, microversion.CONSUMES_QUOTA):
        view['consumes_quota'] = True
    return view
