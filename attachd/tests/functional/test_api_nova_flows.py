"""Nova's call sequences of spec section 6.1, replayed over HTTP at microversion 3.44.

Nova acts with the user's token plus its service token (``X-Service-Token``);
the connector is os-brick's, with ``mountpoint`` added.
"""

from attachd.tests import base
from attachd.tests.functional import fixtures as api_fixtures

SERVER = '11111111-1111-1111-1111-111111111111'


def connector(host):
    return {'platform': 'x86_64', 'os_type': 'linux', 'ip': '192.0.2.%d' % len(host),
            'host': host, 'multipath': False, 'enforce_multipath': True,
            'initiator': 'iqn.1993-08.org.debian:01:%s' % host, 'mountpoint': '/dev/vdb'}


class NovaFlowsTest(base.TestCase):

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(api_fixtures.APIFixture())
        self.nova = api_fixtures.Client(self.api.app, service=True)
        self.volume = self.nova.create_volume()
        self.volume_id = self.volume['id']

    # --- Nova's cinder.API methods ---------------------------------------------------------

    def attachment_create(self, instance=SERVER, conn=None, expect=200):
        body = {'attachment': {'volume_uuid': self.volume_id, 'instance_uuid': instance,
                               'connector': conn}}
        response = self.nova.post('/v3/attachments', body)
        self.assertEqual(expect, response.status_int, response.text)
        return response.json.get('attachment')

    def attachment_update(self, attachment_id, conn):
        response = self.nova.put('/v3/attachments/%s' % attachment_id,
                                 {'attachment': {'connector': conn}})
        self.assertEqual(200, response.status_int, response.text)
        info = response.json['attachment']['connection_info']
        # What Nova's _translate_attachment_ref relies on.
        for key in ('driver_volume_type', 'access_mode', 'encrypted', 'qos_specs',
                    'attachment_id'):
            self.assertIn(key, info)
        return response.json['attachment']

    def attachment_complete(self, attachment_id):
        response = self.nova.post('/v3/attachments/%s/action' % attachment_id,
                                  {'os-complete': None})
        self.assertEqual(204, response.status_int, response.text)

    def attachment_delete(self, attachment_id):
        response = self.nova.delete('/v3/attachments/%s' % attachment_id)
        # Nova treats 404 as success.
        self.assertIn(response.status_int, (200, 404), response.text)

    def volume_action(self, action, expect=202):
        response = self.nova.post('/v3/volumes/%s/action' % self.volume_id, {action: None})
        self.assertEqual(expect, response.status_int, response.text)

    def status(self):
        return self.nova.volume_status(self.volume_id)

    def attach(self, host='compute1'):
        attachment = self.attachment_create()
        self.assertEqual('reserved', self.status())
        self.attachment_update(attachment['id'], connector(host))
        self.assertEqual('attaching', self.status())
        self.attachment_complete(attachment['id'])
        self.assertEqual('in-use', self.status())
        return attachment['id']

    # --- the flows ---------------------------------------------------------------------------

    def test_attach_to_running_server_and_detach(self):
        attachment_id = self.attach()
        shown = self.nova.get('/v3/attachments/%s' % attachment_id).json['attachment']
        self.assertEqual('rw', shown['attach_mode'])
        self.volume_action('os-begin_detaching')
        self.assertEqual('detaching', self.status())
        self.attachment_delete(attachment_id)
        self.assertEqual('available', self.status())

    def test_failed_guest_detach_rolls_back(self):
        self.attach()
        self.volume_action('os-begin_detaching')
        self.volume_action('os-roll_detaching')
        self.assertEqual('in-use', self.status())

    def test_boot_from_volume(self):
        # Reserved by the API, connected and completed by the compute before spawning.
        self.attach()
        listed = self.nova.get('/v3/attachments?instance_id=%s' % SERVER).json
        self.assertEqual(1, len(listed['attachments']))

    def test_failed_attach_deletes_the_reservation(self):
        attachment = self.attachment_create()
        self.attachment_delete(attachment['id'])
        self.assertEqual('available', self.status())

    def test_live_migration(self):
        source = self.attach('compute1')
        destination = self.attachment_create(conn=connector('compute2'))
        self.assertEqual('attaching', destination['status'])
        self.assertEqual('fake', destination['connection_info']['driver_volume_type'])
        refreshed = self.nova.get('/v3/attachments/%s' % destination['id']).json
        self.assertEqual(destination['connection_info']['target_iqn'],
                         refreshed['attachment']['connection_info']['target_iqn'])
        self.attachment_complete(destination['id'])
        self.attachment_delete(source)
        self.assertEqual('in-use', self.status())
        remaining = self.nova.get('/v3/attachments?volume_id=%s' % self.volume_id).json
        self.assertEqual([destination['id']], [a['id'] for a in remaining['attachments']])

    def test_live_migration_rollback(self):
        source = self.attach('compute1')
        destination = self.attachment_create(conn=connector('compute2'))
        self.attachment_delete(destination['id'])
        self.assertEqual('in-use', self.status())
        shown = self.nova.get('/v3/attachments/%s' % source).json['attachment']
        self.assertEqual('attached', shown['status'])

    def test_resize_and_shelve_offload(self):
        old = self.attach('compute1')
        # _terminate_volume_connections: new reservation for the same server, old deleted.
        new = self.attachment_create()
        self.attachment_delete(old)
        self.assertEqual('reserved', self.status())
        self.attachment_update(new['id'], connector('compute2'))
        self.attachment_complete(new['id'])
        self.assertEqual('in-use', self.status())

    def test_attach_while_shelved_offloaded(self):
        attachment = self.attachment_create()
        # Completed without ever being connected.
        self.attachment_complete(attachment['id'])
        self.assertEqual('in-use', self.status())
        # Unshelve connects it later.
        self.attachment_update(attachment['id'], connector('compute3'))
        self.attachment_complete(attachment['id'])
        self.assertEqual('in-use', self.status())
        # Detaching from a shelved-offloaded server: no begin_detaching, just delete.
        self.attachment_delete(attachment['id'])
        self.assertEqual('available', self.status())

    def test_reboot_dangling_attachment_cleanup(self):
        known = self.attach()
        listed = self.nova.get('/v3/attachments?instance_id=%s' % SERVER).json['attachments']
        self.assertEqual([known], [a['id'] for a in listed])

    def test_server_delete_ignores_missing_attachments(self):
        attachment_id = self.attach()
        self.attachment_delete(attachment_id)
        response = self.nova.delete('/v3/attachments/%s' % attachment_id)
        self.assertEqual(404, response.status_int)

    def test_reattach_to_another_server_is_refused(self):
        self.attach()
        self.attachment_create(instance='22222222-2222-2222-2222-222222222222', expect=400)

    def test_volume_show_at_nova_versions(self):
        self.attach()
        for version, has_shared in (('3.69', True), ('3.48', True), ('3.0', False)):
            client = api_fixtures.Client(self.api.app, version=version, service=True)
            volume = client.get('/v3/volumes/%s' % self.volume_id).json['volume']
            self.assertEqual(has_shared, 'shared_targets' in volume)
            self.assertEqual(has_shared, 'service_uuid' in volume)
            self.assertEqual(SERVER, volume['attachments'][0]['server_id'])


class GlanceStoreFlowTest(base.TestCase):
    """glance_store's cinder backend at 3.54: attachments without a server."""

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(api_fixtures.APIFixture())
        self.glance = api_fixtures.Client(self.api.app, token='glance:aaaaaaaa',
                                          version='3.54', service=True)

    def _create(self, volume_id, mode):
        return self.glance.post('/v3/attachments', {'attachment': {
            'volume_uuid': volume_id, 'connector': None, 'mode': mode}})

    def test_image_volume_flow_with_retry(self):
        volume = self.glance.create_volume()
        first = self._create(volume['id'], 'rw')
        self.assertEqual(200, first.status_int)
        busy = self._create(volume['id'], 'ro')
        self.assertEqual(400, busy.status_int)
        # glance_store retries only on this text and parses the status from it.
        self.assertIn('status must be available or downloading to reserve',
                      busy.json['badRequest']['message'])
        self.assertIn('current status is reserved', busy.json['badRequest']['message'])
        attachment_id = first.json['attachment']['id']
        updated = self.glance.put('/v3/attachments/%s' % attachment_id,
                                  {'attachment': {'connector': connector('glance1')}})
        self.assertEqual('rw', updated.json['attachment']['connection_info']['access_mode'])
        self.assertEqual(204, self.glance.post('/v3/attachments/%s/action' % attachment_id,
                                               {'os-complete': None}).status_int)
        self.assertEqual(200, self.glance.delete('/v3/attachments/%s' % attachment_id)
                         .status_int)
        retried = self._create(volume['id'], 'ro')
        self.assertEqual(200, retried.status_int)
        self.assertEqual('ro', retried.json['attachment']['attach_mode'])


class LegacyNovaFlowsTest(base.TestCase):
    """Nova's calls for block-device mappings without an attachment id (microversion 3.0):
    os-initialize_connection on an in-use volume must change no status, as in Cinder, whose
    initialize_connection never does."""

    def setUp(self):
        super().setUp()
        self.api = self.useFixture(api_fixtures.APIFixture())
        self.nova = api_fixtures.Client(self.api.app, version=None, service=True)
        self.volume_id = self.nova.create_volume()['id']

    def action(self, name, args=None, expect=202):
        response = self.nova.post('/v3/volumes/%s/action' % self.volume_id, {name: args})
        self.assertEqual(expect, response.status_int, response.text)
        return response.json if response.body else None

    def initialize(self, host):
        info = self.action('os-initialize_connection', {'connector': connector(host)},
                           expect=200)['connection_info']
        self.assertEqual('fake', info['driver_volume_type'])
        return info

    def terminate(self, host):
        self.action('os-terminate_connection', {'connector': connector(host)})

    def show(self):
        return self.nova.get('/v3/volumes/%s' % self.volume_id).json['volume']

    def attachments(self):
        response = self.nova.get('/v3/attachments?volume_id=%s' % self.volume_id,
                                 headers={'OpenStack-API-Version': 'volume 3.27'})
        return {a['id']: a['status'] for a in response.json['attachments']}

    def attach(self, host='compute1'):
        self.action('os-reserve')
        self.initialize(host)
        self.action('os-attach', {'instance_uuid': SERVER, 'mountpoint': '/dev/vdb'})
        volume = self.show()
        self.assertEqual('in-use', volume['status'])
        return volume['attachments'][0]['attachment_id']

    def assert_in_use(self, attachment_id):
        volume = self.show()
        self.assertEqual('in-use', volume['status'])
        self.assertEqual([attachment_id], [a['attachment_id'] for a in volume['attachments']])
        self.assertEqual('attached', self.attachments()[attachment_id])

    def detach(self, host):
        self.action('os-begin_detaching')
        self.assertEqual('detaching', self.show()['status'])
        self.terminate(host)
        self.assertEqual('detaching', self.show()['status'])
        self.action('os-detach', {})
        self.assertEqual('available', self.show()['status'])
        self.assertEqual({}, self.attachments())

    def test_hard_reboot_refreshes_the_connection(self):
        attachment_id = self.attach()
        first = self.action('os-initialize_connection', {'connector': connector('compute1')},
                            expect=200)['connection_info']
        self.assert_in_use(attachment_id)
        again = self.initialize('compute1')
        self.assertEqual(first['data']['target_iqn'], again['data']['target_iqn'])
        self.assert_in_use(attachment_id)
        self.detach('compute1')

    def test_live_migration(self):
        attachment_id = self.attach()
        # pre_live_migration: the destination's connection.
        self.initialize('compute2')
        self.assert_in_use(attachment_id)
        # post_live_migration: the source's connection goes; the server keeps the volume.
        self.terminate('compute1')
        self.assert_in_use(attachment_id)
        self.assertEqual(['compute2'], [a['host_name'] for a in self.show()['attachments']])
        self.detach('compute2')

    def test_live_migration_rollback(self):
        attachment_id = self.attach()
        self.initialize('compute2')
        # _rollback_live_migration: the destination's connection goes.
        self.terminate('compute2')
        self.assert_in_use(attachment_id)
        self.assertEqual(['compute1'], [a['host_name'] for a in self.show()['attachments']])
        self.detach('compute1')

    def test_another_server_cannot_connect_a_volume_in_use(self):
        self.attach()
        self.action('os-reserve', expect=400)
