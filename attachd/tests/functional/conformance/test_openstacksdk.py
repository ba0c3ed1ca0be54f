"""openstacksdk's block-storage v3 proxy, unchanged, against a running attachd."""

import uuid

from openstack import exceptions as sdk_exc

from attachd.tests.functional.conformance import base

SERVER_1 = str(uuid.uuid4())
SERVER_2 = str(uuid.uuid4())


class OpenStackSDKTest(base.ConformanceTestCase):

    def test_volume_create_get_list_delete(self):
        storage = self.sdk().block_storage
        volume = storage.create_volume(size=2, name='sdk-data', description='conformance')
        self.assertEqual(self.project, volume.project_id)
        volume = storage.wait_for_status(volume, 'available', wait=30, interval=0.1)
        self.assertEqual(2, volume.size)
        self.assertEqual('sdk-data', storage.get_volume(volume.id).name)
        self.assertEqual(volume.id, storage.find_volume('sdk-data').id)
        listed = list(storage.volumes(name='sdk-data'))
        self.assertEqual([volume.id], [v.id for v in listed])
        self.assertEqual('available', listed[0].status)
        self.assertEqual([volume.id], [v.id for v in storage.volumes(details=False)])
        self.assertDbState(volume.id, 'available')

        storage.delete_volume(volume)
        storage.wait_for_delete(volume, wait=30, interval=0.1)
        self.assertRaises(sdk_exc.NotFoundException, storage.get_volume, volume.id)
        self.assertEqual([], list(storage.volumes()))
        self.assertDbState(volume.id, 'deleted', deleted=True)

    def test_another_project_does_not_see_the_volume(self):
        volume = self.sdk().block_storage.create_volume(size=1)
        stranger = self.sdk(project=uuid.uuid4().hex).block_storage
        self.assertRaises(sdk_exc.NotFoundException, stranger.get_volume, volume.id)
        self.assertEqual([], list(stranger.volumes()))

    def test_types_and_extra_specs(self):
        admin = self.sdk(user='admin').block_storage
        name = 'sdk-%s' % uuid.uuid4().hex[:8]
        vtype = admin.create_type(name=name, description='conformance',
                                  extra_specs={'multiattach': '<is> True'})
        self.addCleanup(admin.delete_type, vtype.id)
        self.assertEqual({'multiattach': '<is> True'}, admin.get_type(vtype.id).extra_specs)
        admin.update_type_extra_specs(vtype, volume_backend_name='file')
        self.assertEqual({'multiattach': '<is> True', 'volume_backend_name': 'file'},
                         admin.get_type(vtype.id).extra_specs)
        admin.delete_type_extra_specs(vtype, ['volume_backend_name'])
        self.assertEqual({'multiattach': '<is> True'}, admin.get_type(vtype.id).extra_specs)

        storage = self.sdk().block_storage
        self.assertIn(name, [t.name for t in storage.types()])
        self.assertEqual(vtype.id, storage.find_type(name).id)
        self.assertRaises(sdk_exc.ForbiddenException, storage.create_type, name='nope')
        volume = storage.create_volume(size=1, volume_type=name)
        volume = self.wait_volume(storage, volume.id, 'available')
        self.assertEqual(name, volume.volume_type)
        self.assertTrue(volume.is_multiattach)

        # A type in use cannot go; once its volume is gone it can.
        self.assertRaises(sdk_exc.HttpException, admin.delete_type, vtype.id)
        storage.delete_volume(volume)
        storage.wait_for_delete(volume, wait=30, interval=0.1)
        admin.delete_type(vtype.id)
        self.assertRaises(sdk_exc.NotFoundException, admin.get_type, vtype.id)

    def _attachment_life_cycle(self, microversion):
        storage = self.sdk(microversion=microversion).block_storage
        volume = storage.create_volume(size=1)
        volume = self.wait_volume(storage, volume.id, 'available')

        # Reserve first (Nova's attach), then connect with the host's connector.
        attachment = storage.create_attachment(volume.id, instance=SERVER_1)
        self.assertEqual('reserved', attachment.status)
        self.assertDbState(volume.id, 'reserved', {attachment.id: 'reserved'})
        updated = storage.update_attachment(attachment.id, connector=base.CONNECTOR)
        self.assertEqual('attaching', updated.status)
        self.assertEqual('local', updated.connection_info['driver_volume_type'])
        if microversion == '3.27':
            # os-complete came with 3.44: the attachment stays attaching.
            self.assertRaises(sdk_exc.NotFoundException, storage.complete_attachment,
                              attachment.id)
            self.assertDbState(volume.id, 'attaching', {attachment.id: 'attaching'})
            self.sdk(service=True, microversion=microversion).block_storage.\
                delete_attachment(attachment.id)
            self.assertDbState(volume.id, 'available')
            return
        storage.complete_attachment(attachment.id)
        shown = storage.get_attachment(attachment.id)
        self.assertEqual('attached', shown.status)
        self.assertEqual(SERVER_1, shown.instance)
        self.assertEqual(volume.id, shown.volume_id)
        self.assertEqual([attachment.id],
                         [a.id for a in storage.attachments(volume_id=volume.id)])
        self.assertEqual([attachment.id], [a.id for a in storage.attachments(
            details=False, instance_id=SERVER_1)])
        volume = storage.get_volume(volume.id)
        self.assertEqual('in-use', volume.status)
        self.assertEqual([attachment.id],
                         [a['attachment_id'] for a in volume.attachments])
        self.assertDbState(volume.id, 'in-use', {attachment.id: 'attached'})

        # The owner alone may not pull a connected attachment from under a server
        # (OSSA-2023-003); Nova, with its service token, may.
        self.assertRaises(sdk_exc.ConflictException, storage.delete_attachment,
                          attachment.id)
        nova = self.sdk(service=True, microversion=microversion).block_storage
        nova.delete_attachment(attachment.id)
        self.assertRaises(sdk_exc.NotFoundException, storage.get_attachment, attachment.id)
        self.assertEqual('available', storage.get_volume(volume.id).status)
        self.assertDbState(volume.id, 'available')
        # A missing attachment is ignored unless asked otherwise, as Nova relies on.
        nova.delete_attachment(attachment.id)
        self.assertRaises(sdk_exc.NotFoundException, nova.delete_attachment,
                          attachment.id, ignore_missing=False)

    def test_attachment_life_cycle_at_3_27(self):
        self._attachment_life_cycle('3.27')

    def test_attachment_life_cycle_at_3_44(self):
        self._attachment_life_cycle('3.44')

    def test_attachment_life_cycle_negotiated(self):
        self._attachment_life_cycle(None)

    def test_attachment_with_connector_and_mode(self):
        storage = self.sdk(microversion='3.54').block_storage
        volume = self.wait_volume(storage, storage.create_volume(size=1).id, 'available')
        attachment = storage.create_attachment(volume.id, connector=base.CONNECTOR,
                                               instance=SERVER_2, mode='ro')
        self.assertEqual('attaching', attachment.status)
        self.assertEqual('ro', attachment.attach_mode)
        self.assertEqual('ro', attachment.connection_info['access_mode'])
        self.assertDbState(volume.id, 'attaching', {attachment.id: 'attaching'})
        # Connected, though not complete: the owner alone may not delete it, Nova may.
        self.assertRaises(sdk_exc.ConflictException, storage.delete_attachment,
                          attachment.id)
        self.sdk(service=True).block_storage.delete_attachment(attachment.id)
        self.assertDbState(volume.id, 'available')

    def test_attachments_need_3_27(self):
        storage = self.sdk(microversion='3.26').block_storage
        volume = self.wait_volume(storage, storage.create_volume(size=1).id, 'available')
        self.assertRaises(sdk_exc.NotFoundException, storage.create_attachment, volume.id,
                          instance=SERVER_1)
        self.assertDbState(volume.id, 'available')

    def test_legacy_actions(self):
        storage = self.sdk().block_storage
        volume = self.wait_volume(storage, storage.create_volume(size=1).id, 'available')
        storage.reserve_volume(volume)
        self.assertEqual('attaching', storage.get_volume(volume.id).status)
        storage.unreserve_volume(volume)
        self.assertEqual('available', storage.get_volume(volume.id).status)

        storage.reserve_volume(volume)
        info = storage.init_volume_attachment(volume, base.CONNECTOR)
        self.assertEqual('local', info['driver_volume_type'])
        storage.attach_volume(volume, '/dev/vdb', instance=SERVER_1)
        volume = storage.get_volume(volume.id)
        self.assertEqual('in-use', volume.status)
        [attached] = volume.attachments
        self.assertEqual(SERVER_1, attached['server_id'])
        self.assertEqual('/dev/vdb', attached['device'])
        self.assertDbState(volume.id, 'in-use',
                           {attached['attachment_id']: 'attached'})

        storage.begin_volume_detaching(volume)
        self.assertEqual('detaching', storage.get_volume(volume.id).status)
        storage.abort_volume_detaching(volume)
        self.assertEqual('in-use', storage.get_volume(volume.id).status)
        storage.begin_volume_detaching(volume)
        # The same rule as for attachment deletes guards the legacy detach calls.
        self.assertRaises(sdk_exc.ConflictException, storage.terminate_volume_attachment,
                          volume, base.CONNECTOR)
        self.assertRaises(sdk_exc.ConflictException, storage.detach_volume, volume,
                          attached['attachment_id'])
        self.assertDbState(volume.id, 'detaching', {attached['attachment_id']: 'attached'})
        nova = self.sdk(service=True).block_storage
        nova.terminate_volume_attachment(volume, base.CONNECTOR)
        nova.detach_volume(volume, attached['attachment_id'])
        self.assertEqual('available', storage.get_volume(volume.id).status)
        self.assertDbState(volume.id, 'available')

    def test_readonly_flag_shows_in_metadata(self):
        # Cinder shows the readonly admin flag among the volume's metadata (tempest's
        # test_volume_readonly_update reads it there).
        storage = self.sdk().block_storage
        volume = self.wait_volume(storage, storage.create_volume(size=1).id, 'available')
        admin = self.sdk(user='admin').block_storage
        admin.set_volume_readonly(volume, True)
        self.assertEqual('True', storage.get_volume(volume.id).metadata.get('readonly'))
        attachment = storage.create_attachment(volume.id, instance=SERVER_1)
        self.assertEqual('ro', attachment.attach_mode)
        admin.set_volume_readonly(volume, False)
        self.assertEqual('False', storage.get_volume(volume.id).metadata.get('readonly'))

    def test_admin_reset_status_and_force_detach(self):
        storage = self.sdk().block_storage
        volume = self.wait_volume(storage, storage.create_volume(size=1).id, 'available')
        attachment = storage.create_attachment(volume.id, connector=base.CONNECTOR,
                                               instance=SERVER_1)
        storage.complete_attachment(attachment.id)
        # Even an admin may not pull the volume from under a server alone; with Nova's
        # service token the force detach goes through.
        admin = self.sdk(user='admin').block_storage
        self.assertRaises(sdk_exc.ConflictException, admin.detach_volume, volume,
                          attachment.id, force=True, connector=base.CONNECTOR)
        self.assertDbState(volume.id, 'in-use', {attachment.id: 'attached'})
        self.sdk(user='admin', service=True).block_storage.detach_volume(
            volume, attachment.id, force=True, connector=base.CONNECTOR)
        self.assertDbState(volume.id, 'available')
        admin.reset_volume_status(volume, 'error', 'detached', None)
        self.assertEqual('error', storage.get_volume(volume.id).status)
        self.assertDbState(volume.id, 'error')
