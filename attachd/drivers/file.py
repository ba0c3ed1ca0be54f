"""The file driver: each volume is a sparse file, attached in place on the manager's host.

connection_info is ``driver_volume_type: local`` with ``device_path``, what os-brick's local
connector takes: the host that attaches is the one the files are on (the embedded mode,
development, CI). The driver keeps no export state, so a restart loses nothing.
"""

import os
import shutil

from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import uuidutils

from attachd import exception
from attachd.drivers import base
from attachd.i18n import _

LOG = logging.getLogger(__name__)

GiB = 1024 ** 3

OPTS = [
    cfg.StrOpt('file_volumes_dir',
               default='$state_path/volumes',
               help=_('Directory holding the sparse files of the file driver\'s volumes. '
                      'Created when missing.')),
]


class FileDriver(base.ConnectorDriver):
    """Sparse files under ``file_volumes_dir``, attached through their path."""

    OPTS = OPTS

    @property
    def volumes_dir(self):
        return self.options.file_volumes_dir

    def do_setup(self):
        os.makedirs(self.volumes_dir, exist_ok=True)

    def path(self, volume):
        """The file of ``volume``; the id is checked so it cannot name another path."""
        if not uuidutils.is_uuid_like(volume.id):
            raise exception.InvalidVolume(reason=_('volume id %s is not a UUID') % volume.id)
        return os.path.join(self.volumes_dir, 'volume-%s' % volume.id)

    def capabilities(self):
        usage = shutil.disk_usage(self.volumes_dir)
        return base.Capabilities(protocol='local', shared_targets=False, multiattach=True,
                                 free_capacity_gb=usage.free // GiB,
                                 total_capacity_gb=usage.total // GiB)

    def create_volume(self, volume):
        path = self.path(volume)
        try:
            # O_EXCL: a second create of the same id must not truncate the first's data.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise exception.DriverError(reason=_('volume file of %s already exists')
                                        % volume.id)
        try:
            os.ftruncate(fd, volume.size * GiB)
        finally:
            os.close(fd)
        LOG.debug('Created %s (%d GiB, sparse)', path, volume.size)
        return {'provider_location': path}

    def delete_volume(self, volume):
        try:
            os.unlink(self.path(volume))
        except FileNotFoundError:
            pass

    def wipe_volume(self, volume):
        """Truncate the file to nothing and extend it again: sparse, all zeros."""
        try:
            fd = os.open(self.path(volume), os.O_WRONLY)
        except FileNotFoundError:
            raise exception.DriverError(reason=_('volume file of %s is missing') % volume.id)
        try:
            os.ftruncate(fd, 0)
            os.ftruncate(fd, volume.size * GiB)
        finally:
            os.close(fd)

    def create_export(self, volume, connector):
        if not os.path.exists(self.path(volume)):
            raise exception.ExportFailure(volume_id=volume.id,
                                          reason=_('its file is missing'))

    def initialize_connection(self, volume, connector, attachment_id):
        return {'driver_volume_type': 'local',
                'data': {'device_path': self.path(volume), 'volume_id': volume.id}}

    def terminate_connection(self, volume, connector, remaining_connectors):
        return any(self.shares_connection(connector, other)
                   for other in remaining_connectors)

    def remove_export(self, volume):
        """Nothing to remove: a file is reachable by its path alone."""

    def ensure_export(self, volume, connectors):
        self.create_export(volume, None)
