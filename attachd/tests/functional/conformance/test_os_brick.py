"""os-brick, the host side of an attachment, with what a running attachd hands out.

``get_connector_properties`` describes this host and the result is the connector of
``PUT /attachments/{id}``; ``LocalConnector`` connects the ``file`` driver's
connection_info and the test reads and writes the volume through the path it gives;
``ISCSIConnector`` parses the ``tgt`` driver's connection_info into the portal, IQN and LUN
it would log in to, and a real initiator (qemu-io's libiscsi, as in the tgt driver's
tests: this machine has no open-iscsi) reads and writes that LUN.

os-brick runs its privileged calls (``privsep``) in this process, which is root (the
tgt tests need root anyway): there is no ``sudo`` to start a privsep daemon with, and
``env`` serves as the root helper of the commands it runs.
"""

import json
import os
import uuid

import fixtures
from os_brick import privileged
from os_brick.initiator import connector as brick_connector
import sqlalchemy

from attachd.tests.functional.conformance import base
from attachd.tests.functional.drivers import test_tgt

ROOT_HELPER = 'env'
PATTERN = b'attachd-os-brick-conformance\n' * 100


class OsBrickTestCase(base.ConformanceTestCase):

    def setUp(self):
        super().setUp()
        self.useFixture(fixtures.MockPatchObject(privileged.default, 'client_mode', False))
        self.host = 'brick-%s' % uuid.uuid4().hex[:8]

    def connector_properties(self):
        return brick_connector.get_connector_properties(ROOT_HELPER, '127.0.0.1', False,
                                                        False, host=self.host)

    def stored_connection(self, attachment_id):
        """The attachment's connector and host as the server stored them."""
        with self.server.engine().connect() as conn:
            host = conn.execute(sqlalchemy.text(
                'SELECT attached_host FROM volume_attachment WHERE id = :id'),
                {'id': attachment_id}).scalar_one()
            specs = conn.execute(sqlalchemy.text(
                'SELECT key, value FROM attachment_specs WHERE attachment_id = :id '
                'AND NOT deleted'), {'id': attachment_id}).all()
        return {key: json.loads(value) for key, value in specs}, host

    def available_volume(self, storage):
        return self.wait_volume(storage, storage.create_volume(size=1).id, 'available')

    def attach(self, storage, volume, properties):
        """An attachment of ``volume`` for a new server, connected with ``properties`` and
        completed, as Nova makes it (through openstacksdk)."""
        attachment = storage.create_attachment(volume.id, connector=properties,
                                               instance=str(uuid.uuid4()))
        storage.complete_attachment(attachment.id)
        return attachment


class FileVolumeTest(OsBrickTestCase):

    def test_connector_properties_are_the_attachment_s_connector(self):
        properties = self.connector_properties()
        self.assertEqual((self.host, '127.0.0.1', False),
                         (properties['host'], properties['ip'], properties['multipath']))
        storage = self.sdk().block_storage
        volume = self.available_volume(storage)
        attachment = storage.create_attachment(volume.id, instance=str(uuid.uuid4()))
        updated = storage.update_attachment(attachment.id, connector=properties)
        self.assertEqual('local', updated.connection_info['driver_volume_type'])
        # Stored as sent, with the attachment's mode added (as Cinder does).
        self.assertEqual((dict(properties, mode='rw'), self.host),
                         self.stored_connection(attachment.id))
        storage.complete_attachment(attachment.id)
        self.assertDbState(volume.id, 'in-use', {attachment.id: 'attached'})
        self.assertEqual(self.host, self.sdk(user='admin').block_storage.get_volume(
            volume.id).attachments[0]['host_name'])

    def test_local_connector_reads_and_writes_the_volume(self):
        storage = self.sdk().block_storage
        nova = self.sdk(service=True).block_storage
        volume = self.available_volume(storage)
        properties = self.connector_properties()

        attachment = self.attach(storage, volume, properties)
        info = attachment.connection_info
        brick = brick_connector.InitiatorConnector.factory(info['driver_volume_type'],
                                                           ROOT_HELPER)
        self.assertEqual('LocalConnector', type(brick).__name__)
        device = brick.connect_volume(info)
        self.assertEqual([device['path']], brick.get_volume_paths(info))
        self.assertTrue(device['path'].startswith(self.server.state_path), device['path'])
        self.assertEqual(1024 ** 3, os.path.getsize(device['path']))
        with open(device['path'], 'r+b') as disk:
            disk.seek(4096)
            disk.write(PATTERN)
        brick.disconnect_volume(info, device)
        nova.delete_attachment(attachment.id)
        self.assertDbState(volume.id, 'available')

        # The data is the volume's: a new attachment reads it back.
        attachment = self.attach(storage, volume, properties)
        device = brick.connect_volume(attachment.connection_info)
        with open(device['path'], 'rb') as disk:
            disk.seek(4096)
            self.assertEqual(PATTERN, disk.read(len(PATTERN)))
        brick.disconnect_volume(attachment.connection_info, device)
        nova.delete_attachment(attachment.id)
        self.assertDbState(volume.id, 'available')


class IscsiVolumeTest(OsBrickTestCase):

    backends = ('tgt',)

    def test_iscsi_connector_parses_the_tgt_connection_info(self):
        # This host has no /etc/iscsi/initiatorname.iscsi (no open-iscsi): the initiator
        # name os-brick would read from it is added as Nova's connector would carry it.
        initiator = 'iqn.2026-01.org.example:%s' % self.host
        properties = dict(self.connector_properties(), initiator=initiator)
        storage = self.sdk().block_storage
        volume = self.available_volume(storage)
        attachment = storage.create_attachment(volume.id, connector=properties,
                                               instance=str(uuid.uuid4()))
        info = attachment.connection_info
        self.assertEqual('iscsi', info['driver_volume_type'])

        brick = brick_connector.InitiatorConnector.factory('ISCSI', ROOT_HELPER)
        [target] = list(brick._iterate_all_targets(info))
        portal, iqn, lun = target['target_portal'], target['target_iqn'], target['target_lun']
        self.assertEqual('127.0.0.1:%d' % self.server.tgt_portal_port, portal)
        self.assertTrue(iqn.startswith('iqn.2026-01.org.attachd.conformance:'), iqn)
        self.assertIn(volume.id, iqn)
        self.assertEqual(['/dev/disk/by-path/ip-%s-iscsi-%s-lun-%s' % (portal, iqn, lun)],
                         brick._get_device_path(info))

        # The LUN os-brick names is the volume's, open to this host's initiator only.
        code, output = test_tgt.qemu_io(target, initiator, 'write -P 0x3c 0 4k',
                                        'read -P 0x3c 0 4k')
        self.assertEqual(0, code, output)
        code, output = test_tgt.qemu_io(target, test_tgt.STRANGER, 'read 0 512')
        self.assertNotEqual(0, code, output)

        storage.complete_attachment(attachment.id)
        self.sdk(service=True).block_storage.delete_attachment(attachment.id)
        self.assertDbState(volume.id, 'available')
        code, output = test_tgt.qemu_io(target, initiator, 'read 0 512')
        self.assertNotEqual(0, code, output)


class RbdVolumeTest(OsBrickTestCase):
    """os-brick's RBD connector (librbd in this process, no kernel device) on what the
    ``rbd`` backend returns, against the server's private Ceph."""

    backends = ('rbd',)

    def test_rbd_connector_reads_and_writes_through_the_connection_info(self):
        storage = self.sdk().block_storage
        nova = self.sdk(service=True).block_storage
        volume = self.available_volume(storage)
        properties = self.connector_properties()

        attachment = self.attach(storage, volume, properties)
        info = attachment.connection_info
        self.assertEqual('rbd', info['driver_volume_type'])
        self.assertEqual('rbd/volume-%s' % volume.id, info['name'])
        brick = brick_connector.InitiatorConnector.factory('rbd', ROOT_HELPER,
                                                           do_local_attach=False)
        self.assertEqual('RBDConnector', type(brick).__name__)
        device = brick.connect_volume(info)
        handle = device['path']
        handle.seek(4096)
        handle.write(PATTERN)
        brick.disconnect_volume(info, device)
        entity = 'client.' + info['auth_username']
        self.assertIn(entity, self.server.ceph.ceph('auth', 'ls'))
        nova.delete_attachment(attachment.id)
        self.assertDbState(volume.id, 'available')
        # The host's identity went with its attachment.
        self.assertNotIn(entity, self.server.ceph.ceph('auth', 'ls'))

        # The data is the volume's: a new attachment (a new identity) reads it back.
        attachment = self.attach(storage, volume, properties)
        self.assertNotEqual(info['keyring'], attachment.connection_info['keyring'])
        device = brick.connect_volume(attachment.connection_info)
        device['path'].seek(4096)
        self.assertEqual(PATTERN, device['path'].read(len(PATTERN)))
        brick.disconnect_volume(attachment.connection_info, device)
        nova.delete_attachment(attachment.id)
        self.assertDbState(volume.id, 'available')
