"""A volume's life outside its attachments: create, delete and re-image, each a status
change in the database followed by a cast to the volume's manager, which does the storage
work and records the outcome.
"""

from oslo_log import log as logging
from oslo_utils import excutils

from attachd import exception
from attachd.objects import fields
from attachd.volume import clients

LOG = logging.getLogger(__name__)


def create(context, volume, metadata=None):
    """Record the new ``volume`` and ask its manager to create the storage.

    A volume without a ``host`` (no live manager for its backend) is recorded in
    ``error``; so is one whose manager could not be reached.
    """
    placed = volume.obj_attr_is_set('host') and volume.host
    if not placed:
        volume.status = fields.VolumeStatus.ERROR
    # A new volume has no admin metadata: saying so spares the view a query.
    volume.create(metadata=metadata or {}, admin_metadata={})
    if not placed:
        return
    try:
        clients.manager_api().create_volume(context, volume)
    except exception.ServiceUnavailable:
        LOG.exception('Could not ask manager %s to create volume %s', volume.host, volume.id)
        volume.conditional_update({'status': fields.VolumeStatus.ERROR},
                                  {'status': fields.VolumeStatus.CREATING})


def delete(context, volume):
    """Move the volume to ``deleting`` and have its manager delete the storage and the row
    (a volume without storage is deleted at once).

    :raises InvalidVolume: attached, reserved or in a status that forbids deleting.
    :raises ServiceUnavailable: the manager could not be asked; the status is restored.
    """
    previous_status = volume.status
    volume.begin_delete()
    if not volume.host:
        volume.destroy()
        return
    try:
        clients.manager_api().delete_volume(context, volume)
    except exception.ServiceUnavailable:
        volume.conditional_update({'status': previous_status},
                                  {'status': fields.VolumeStatus.DELETING})
        raise


def reimage(context, volume, reimage_reserved=False):
    """Move the volume to ``downloading`` and have its manager wipe it (os-reimage).

    :raises InvalidVolume, AttachmentConflict: see ``Volume.begin_reimage``.
    """
    volume.begin_reimage(reimage_reserved)
    try:
        clients.manager_api().reimage_volume(context, volume)
    except Exception:
        with excutils.save_and_reraise_exception():
            volume.end_download()
