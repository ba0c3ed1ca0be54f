"""tempest.lib's volume v3 clients against a running attachd.

Each call goes through tempest.lib's own client (``tempest.lib.services.volume.v3``), which
checks the status code and validates the body against tempest.lib's response schema for
the microversion in use (``additionalProperties: false`` for volumes: a key attachd adds
that Cinder does not, on that call, fails here), and checks that the answer names the
requested microversion. Calls that tempest.lib has no client method for (attachment
create/update, os-initialize_connection, os-begin_detaching) go through the same client's
plain ``post``/``put``, so they use the same auth and headers.

Scenarios: the server's two modes times the microversions Nova, tempest and the other
callers use (3.0, 3.27, 3.44, 3.54, 3.71).
"""

import time

import fixtures
from oslo_serialization import jsonutils
from oslo_utils import uuidutils
from tempest.lib import exceptions as lib_exc
from tempest.lib.services.volume import base_client
from tempest.lib.services.volume.v3 import attachments_client
from tempest.lib.services.volume.v3 import limits_client
from tempest.lib.services.volume.v3 import types_client
from tempest.lib.services.volume.v3 import versions_client
from tempest.lib.services.volume.v3 import volumes_client
import testscenarios

from attachd.tests.functional.conformance import server
from attachd.tests.functional.conformance import tempest_auth

MICROVERSIONS = [(version, {'microversion': version})
                 for version in ('3.0', '3.27', '3.44', '3.54', '3.71')]

SERVER_ID = '44444444-4444-4444-4444-444444444444'


def connector(host):
    return {'host': host, 'initiator': 'iqn.1993-08.org.debian:01:%s' % host,
            'ip': '127.0.0.1', 'platform': 'x86_64', 'os_type': 'linux',
            'multipath': False}


def _version_tuple(version):
    return tuple(int(part) for part in version.split('.'))


class Clients:
    """tempest.lib's volume v3 clients of one noauth user."""

    def __init__(self, endpoint, user, project_id, headers=None):
        provider = tempest_auth.NoAuthProvider(
            tempest_auth.credentials(user, project_id), endpoint, headers)
        args = (provider, 'volumev3', 'RegionOne')
        self.volumes = volumes_client.VolumesClient(*args)
        self.types = types_client.TypesClient(*args)
        self.attachments = attachments_client.AttachmentsClient(*args)
        self.limits = limits_client.LimitsClient(*args)
        self.versions = versions_client.VersionsClient(*args)


class TempestLibTest(server.ServerTestCase):

    scenarios = testscenarios.multiply_scenarios(server.SCENARIOS, MICROVERSIONS)

    def setUp(self):
        super().setUp()
        # How tempest's own volume tests pick the microversion of every client call.
        self.useFixture(fixtures.MonkeyPatch(
            'tempest.lib.services.volume.base_client.VOLUME_MICROVERSION',
            self.microversion))
        self.project_id = uuidutils.generate_uuid(dashed=False)
        self.member = Clients(self.endpoint, 'member', self.project_id)
        self.admin = Clients(self.endpoint, 'admin', self.project_id)
        # Nova: the user's token with its service token.
        self.nova = Clients(self.endpoint, 'nova', self.project_id,
                            {'X-Service-Token': 'nova:service'})

    def at_least(self, version):
        return _version_tuple(self.microversion) >= _version_tuple(version)

    def create_volume(self, client=None, **values):
        client = client or self.member
        volume = client.volumes.create_volume(size=1, **values)['volume']
        self.addCleanup(self._delete_volume, volume['id'])
        return self.wait_status(volume['id'], 'available')

    def _delete_volume(self, volume_id):
        try:
            self.admin.volumes.force_detach_volume(volume_id)
        except lib_exc.ClientRestClientException:
            pass
        try:
            self.admin.volumes.delete_volume(volume_id)
        except lib_exc.NotFound:
            return
        self.admin.volumes.wait_for_resource_deletion(volume_id)

    def wait_status(self, volume_id, status, timeout=30):
        deadline = time.monotonic() + timeout
        while True:
            volume = self.member.volumes.show_volume(volume_id)['volume']
            if volume['status'] == status:
                return volume
            self.assertLess(time.monotonic(), deadline, volume)
            time.sleep(0.05)

    def action(self, client, volume_id, name, args, expect):
        resp, body = client.volumes.post('volumes/%s/action' % volume_id,
                                         jsonutils.dumps({name: args}))
        client.volumes.expected_success(expect, resp.status)
        return jsonutils.loads(body) if body else None

    def test_microversion_in_use(self):
        self.assertEqual(self.microversion, base_client.VOLUME_MICROVERSION)

    def test_volume_create_show_list_delete(self):
        volume = self.member.volumes.create_volume(size=1, name='tl')['volume']
        self.addCleanup(self._delete_volume, volume['id'])
        shown = self.wait_status(volume['id'], 'available')
        self.assertEqual('tl', shown['name'])
        listed = self.member.volumes.list_volumes()['volumes']
        self.assertIn(volume['id'], [v['id'] for v in listed])
        detailed = self.member.volumes.list_volumes(detail=True)['volumes']
        self.assertIn(volume['id'], [v['id'] for v in detailed])
        self.admin.volumes.show_volume(volume['id'])
        self.admin.volumes.list_volumes(detail=True, params={'all_tenants': 1})
        self.member.volumes.delete_volume(volume['id'])
        self.member.volumes.wait_for_resource_deletion(volume['id'])

    def test_versions_documents(self):
        self.member.versions.list_versions()
        shown = self.member.versions.show_version('v3')['versions'][0]
        self.assertEqual('3.0', shown['min_version'])

    def test_volume_views(self):
        volume_id = self.create_volume()['id']
        member = self.member.volumes.show_volume(volume_id)['volume']
        admin = self.admin.volumes.show_volume(volume_id)['volume']
        # Keys tempest's schemas allow but Cinder's default policies show admins only.
        for key in ('os-vol-host-attr:host', 'os-vol-mig-status-attr:migstat',
                    'migration_status'):
            self.assertNotIn(key, member)
            self.assertIn(key, admin)
        self.assertEqual(self.project_id, member['os-vol-tenant-attr:tenant_id'])
        # 3.48 adds the key (the file backend has no shared targets).
        self.assertEqual(self.at_least('3.48'), member.get('shared_targets') is False)
        self.create_volume()
        page = self.member.volumes.list_volumes(detail=True, params={'limit': 1})
        self.assertEqual('next', page['volumes_links'][0]['rel'])

    def test_volume_errors(self):
        self.assertRaises(lib_exc.NotFound, self.member.volumes.show_volume,
                          uuidutils.generate_uuid())
        self.assertRaises(lib_exc.BadRequest, self.member.volumes.create_volume, size=0)

    def test_types_and_extra_specs(self):
        name = 'tl-%s' % uuidutils.generate_uuid()[:8]
        created = self.admin.types.create_volume_type(
            name=name, extra_specs={'multiattach': '<is> True'})['volume_type']
        self.addCleanup(self._delete_type, created['id'])
        self.assertEqual(name, self.admin.types.show_volume_type(created['id'])
                         ['volume_type']['name'])
        listed = self.member.types.list_volume_types()['volume_types']
        self.assertIn(created['id'], [t['id'] for t in listed])
        types = self.admin.types
        types.create_volume_type_extra_specs(created['id'], {'k1': 'v1'})
        specs = types.list_volume_types_extra_specs(created['id'])['extra_specs']
        self.assertEqual({'multiattach': '<is> True', 'k1': 'v1'}, specs)
        self.assertEqual({'k1': 'v1'}, types.show_volume_type_extra_specs(created['id'],
                                                                           'k1'))
        types.update_volume_type_extra_specs(created['id'], 'k1', {'k1': 'v2'})
        types.delete_volume_type_extra_specs(created['id'], 'k1')
        volume = self.create_volume(volume_type=name)
        self.assertEqual(name, volume['volume_type'])
        self.assertTrue(volume['multiattach'])

    def test_default_volume_type(self):
        default = self.member.types.show_default_volume_type()['volume_type']
        self.assertEqual('__DEFAULT__', default['name'])
        self.assertEqual('__DEFAULT__', self.create_volume()['volume_type'])
        self.assertRaises(lib_exc.BadRequest, self.admin.types.delete_volume_type,
                          default['id'])

    def _delete_type(self, type_id):
        try:
            self.admin.types.delete_volume_type(type_id)
        except (lib_exc.NotFound, lib_exc.BadRequest):
            pass

    def test_legacy_attach_and_detach(self):
        volume_id = self.create_volume()['id']
        volumes = self.nova.volumes
        volumes.reserve_volume(volume_id)
        volumes.unreserve_volume(volume_id)
        self.wait_status(volume_id, 'available')
        volumes.reserve_volume(volume_id)
        info = self.action(self.nova, volume_id, 'os-initialize_connection',
                           {'connector': connector('tl1')}, 200)['connection_info']
        self.assertEqual('local', info['driver_volume_type'])
        volumes.attach_volume(volume_id, instance_uuid=SERVER_ID, mountpoint='/dev/vdb')
        volume = self.wait_status(volume_id, 'in-use')
        self.assertEqual([(SERVER_ID, '/dev/vdb')],
                         [(a['server_id'], a['device']) for a in volume['attachments']])
        # Hard reboot's refresh: the same host again, nothing changes.
        self.action(self.nova, volume_id, 'os-initialize_connection',
                    {'connector': connector('tl1')}, 200)
        self.assertEqual('in-use', volumes.show_volume(volume_id)['volume']['status'])
        self.action(self.nova, volume_id, 'os-begin_detaching', {}, 202)
        volumes.terminate_connection(volume_id, connector('tl1'))
        volumes.detach_volume(volume_id)
        self.wait_status(volume_id, 'available')

    def test_readonly_flag_and_admin_actions(self):
        volume_id = self.create_volume()['id']
        self.admin.volumes.update_volume_readonly(volume_id, readonly=True)
        self.admin.volumes.reset_volume_status(volume_id, status='error')
        self.assertEqual('error', self.member.volumes.show_volume(volume_id)
                         ['volume']['status'])
        self.admin.volumes.reset_volume_status(volume_id, status='available')
        self.admin.volumes.force_detach_volume(volume_id)

    def test_attachments(self):
        if not self.at_least('3.27'):
            self.assertRaises(lib_exc.NotFound, self.nova.attachments.show_attachment,
                              uuidutils.generate_uuid())
            return
        volume_id = self.create_volume()['id']
        client = self.nova.attachments
        resp, body = client.post('attachments', jsonutils.dumps({'attachment': {
            'volume_uuid': volume_id, 'instance_uuid': SERVER_ID, 'connector': None}}))
        client.expected_success(200, resp.status)
        attachment_id = jsonutils.loads(body)['attachment']['id']
        resp, body = client.put('attachments/%s' % attachment_id, jsonutils.dumps(
            {'attachment': {'connector': connector('tl2')}}))
        client.expected_success(200, resp.status)
        if self.at_least('3.44'):
            resp, body = client.post('attachments/%s/action' % attachment_id,
                                     jsonutils.dumps({'os-complete': None}))
            client.expected_success(204, resp.status)
            self.wait_status(volume_id, 'in-use')
        shown = client.show_attachment(attachment_id)['attachment']
        self.assertEqual(volume_id, shown['volume_id'])
        if self.at_least('3.44'):
            self.assertEqual('attached', shown['status'])
            [entry] = self.member.volumes.show_volume(volume_id)['volume']['attachments']
            self.assertEqual((attachment_id, SERVER_ID, None),
                             (entry['attachment_id'], entry['server_id'],
                              entry['host_name']))
            [entry] = self.admin.volumes.show_volume(volume_id)['volume']['attachments']
            self.assertEqual('tl2', entry['host_name'])
        self.member.volumes.list_volumes(detail=True)
        # tempest.lib reads a JSON body from the delete (200).
        client.delete_attachment(attachment_id)
        self.wait_status(volume_id, 'available')

    def test_limits(self):
        before = self.member.limits.show_limits()['limits']['absolute']
        self.create_volume()
        after = self.member.limits.show_limits()['limits']['absolute']
        self.assertEqual(before['totalVolumesUsed'] + 1, after['totalVolumesUsed'])
        self.assertEqual(before['totalGigabytesUsed'] + 1, after['totalGigabytesUsed'])

    def test_volume_metadata(self):
        volume_id = self.create_volume(metadata={'a': '1'})['id']
        volumes = self.member.volumes
        self.assertEqual({'a': '1'}, volumes.show_volume_metadata(volume_id)['metadata'])
        self.assertEqual({'a': '1', 'b': '2'},
                         volumes.create_volume_metadata(volume_id, {'b': '2'})['metadata'])
        self.assertEqual({'c': '3'},
                         volumes.update_volume_metadata(volume_id, {'c': '3'})['metadata'])
        self.assertEqual({'c': '3'}, volumes.show_volume_metadata_item(volume_id, 'c')['meta'])
        self.assertEqual({'c': '4'}, volumes.update_volume_metadata_item(
            volume_id, 'c', {'c': '4'})['meta'])
        volumes.delete_volume_metadata_item(volume_id, 'c')
        self.assertEqual({}, volumes.show_volume_metadata(volume_id)['metadata'])
        self.assertRaises(lib_exc.NotFound, volumes.show_volume_metadata_item, volume_id, 'c')
