"""Helpers of the manager tests: volumes, attachments, a manager service to run them on."""

from oslo_messaging.notify import _impl_test as test_notifier

from attachd import context
from attachd import notifications
from attachd.manager import rpcapi
from attachd.manager import service
from attachd.objects import fields
from attachd.objects import volume as volume_obj
from attachd.objects import volume_attachment as attachment_obj
from attachd.tests import base

VolumeStatus = fields.VolumeStatus
AttachStatus = fields.VolumeAttachStatus
INSTANCE_A = '00000000-0000-0000-0000-00000000000a'
INSTANCE_B = '00000000-0000-0000-0000-00000000000b'
HOST = 'node1'


def connector(host='compute1', initiator='iqn.2026-01.org.example:compute1'):
    return {'host': host, 'initiator': initiator, 'ip': '127.0.0.1', 'platform': 'x86_64',
            'os_type': 'linux', 'multipath': False}


wait_for = base.wait_for


class ManagerTestMixin:
    """A test database (from DbTestCase) plus the managers the test starts."""

    #: The node name of the managers the test starts.
    host = HOST
    #: The backend :meth:`create` makes volumes on.
    backend = 'fake'

    def setUp(self):
        super().setUp()
        self.flags(host=self.host)
        self.configure()
        notifications.reset()
        # Building a notifier registers oslo.messaging's notification options.
        notifications.get_notifier()
        self.flags(driver=['test'], group='oslo_messaging_notifications')
        test_notifier.reset()
        self.addCleanup(notifications.reset)
        self.ctx = context.RequestContext(user_id='user', project_id='project')
        self.admin = context.get_admin_context()
        self.services = []

    def configure(self):
        """Set options before anything starts (subclasses pick the transport here)."""

    def start_manager(self, backend='fake', driver=None, host=None):
        """Start the manager of ``backend`` on node ``host`` (default the test case's)."""
        svc = service.ManagerService(backend, host=host or self.host, driver=driver).start()
        self.services.append(svc)
        self.addCleanup(self._stop, svc)
        return svc

    def _stop(self, svc):
        if svc in self.services:
            svc.stop()
            self.services.remove(svc)

    def volume(self, backend='fake', status=VolumeStatus.AVAILABLE, multiattach=False,
               size=1, host=None, cluster_name=None):
        """A volume placed by the manager of ``backend`` on node ``host`` (default the
        test case's), in cluster ``cluster_name`` if given."""
        vol = volume_obj.Volume(self.ctx, size=size, project_id='project', user_id='user',
                                status=status, attach_status=AttachStatus.DETACHED,
                                multiattach=multiattach,
                                host='%s@%s' % (host or self.host, backend),
                                cluster_name=cluster_name)
        vol.create()
        return vol

    def reserve(self, volume, instance=INSTANCE_A):
        return attachment_obj.VolumeAttachment.reserve(self.ctx, volume.id, instance)

    def reload(self, volume):
        return volume_obj.Volume.get_by_id(self.ctx, volume.id)

    def attachment(self, attachment_id):
        return attachment_obj.VolumeAttachment.get_by_id(self.ctx, attachment_id)

    def create(self, multiattach=False):
        """A volume made by the manager of ``self.backend`` (the test case's), once
        available."""
        volume = self.volume(backend=self.backend, status=VolumeStatus.CREATING,
                             multiattach=multiattach)
        self.api().create_volume(self.ctx, volume)
        return wait_for(lambda: (self.reload(volume).status == 'available' and
                                 self.reload(volume)))

    def attach(self, volume, connector, instance=INSTANCE_A):
        """Nova's attach through the manager: reserve, connect, complete; returns the
        attachment and its connection_info."""
        attachment = self.reserve(volume, instance)
        info = self.api().attachment_update(self.ctx, volume, attachment,
                                            connector).connection_info
        attachment.complete()
        return attachment, info

    def detach(self, volume, attachment):
        """The manager's detach, then the row's delete; returns the manager's "shared"."""
        attachment = self.attachment(attachment.id)
        shared = self.api().attachment_delete(self.ctx, volume, attachment)
        attachment.destroy()
        return shared

    def notifications(self, event_type=None):
        """The messages sent so far (dicts with event_type, payload, publisher_id)."""
        return [message for _ctxt, message, _priority, _retry in test_notifier.NOTIFICATIONS
                if event_type is None or message['event_type'] == event_type]

    def api(self):
        return rpcapi.ManagerAPI()
