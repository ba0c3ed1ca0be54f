"""Ironic's cinder storage interface (``ironic.common.cinder``, through openstacksdk)
against a running attachd: boot-from-volume's attach and the detach at power off.

Ironic runs in its own process (see :mod:`ironic_volumes` for why), with the user's token
from the task's context and its own service token, as a conductor does.
"""

import json
import os
import subprocess
import sys
import uuid

from testtools import content

from attachd.tests.functional.conformance import base
from attachd.tests.functional.conformance import ironic_volumes

# What Ironic's storage interface sends for a node that boots from iSCSI.
NODE_CONNECTOR = {'host': 'baremetal-node', 'initiator': 'iqn.2026-01.org.example:node',
                  'ip': '127.0.0.1', 'multipath': False}


class IronicTest(base.ConformanceTestCase):

    def setUp(self):
        super().setUp()
        self.node = {'uuid': str(uuid.uuid4()), 'instance_uuid': str(uuid.uuid4())}

    def ironic(self, action, volumes):
        """Run ``attach_volumes``/``detach_volumes``; returns (result or error, log)."""
        request = {'action': action, 'endpoint': self.volume_endpoint,
                   'user_token': 'member:%s' % self.project,
                   'service_token': 'ironic:%s' % uuid.uuid4().hex,
                   'node': self.node, 'volumes': volumes, 'connector': NODE_CONNECTOR}
        result = subprocess.run(
            [sys.executable, ironic_volumes.__file__], input=json.dumps(request),
            capture_output=True, text=True, timeout=120,
            env=dict(os.environ, PYTHONWARNINGS='ignore'))
        self.assertEqual(0, result.returncode, result.stderr)
        self.addDetail('ironic-%s.log' % action, content.text_content(result.stderr))
        return json.loads(result.stdout), result.stderr

    def _volumes(self, count):
        storage = self.sdk().block_storage
        ids = [storage.create_volume(size=1, name='ironic-%d' % i).id for i in range(count)]
        for volume_id in ids:
            self.wait_volume(storage, volume_id, 'available')
        return ids

    def test_attach_volumes_then_detach_volumes(self):
        first, second = self._volumes(2)
        outcome, log = self.ironic('attach', [first, second])
        connections = outcome['result']
        self.assertEqual([first, second], [c['data']['volume_id'] for c in connections])
        for connection in connections:
            self.assertEqual('local', connection['driver_volume_type'])
            self.assertEqual(connection['data']['volume_id'],
                             connection['data']['ironic_volume_uuid'])
            self.assertTrue(os.path.exists(connection['data']['device_path']))
        storage = self.sdk().block_storage
        for volume_id in (first, second):
            volume = storage.get_volume(volume_id)
            self.assertEqual('in-use', volume.status)
            [attached] = volume.attachments
            self.assertEqual((self.node['instance_uuid'], 'ironic_mountpoint'),
                             (attached['server_id'], attached['device']))
            self.assertDbState(volume_id, 'in-use', {attached['attachment_id']: 'attached'})

        # Attaching again finds the node's attachment and skips the volume.
        outcome, log = self.ironic('attach', [first])
        self.assertEqual([{'already_attached': True,
                           'data': {'ironic_volume_uuid': first, 'volume_id': first}}],
                         outcome['result'])

        # Power off: the node's service token lets Ironic end the connections.
        outcome, log = self.ironic('detach', [first, second])
        self.assertEqual({'result': None}, outcome)
        for volume_id in (first, second):
            self.assertEqual('available', storage.get_volume(volume_id).status)
            self.assertDbState(volume_id, 'available')

    def test_attach_an_unavailable_volume_is_a_storage_error(self):
        [volume_id] = self._volumes(1)
        self.sdk().block_storage.reserve_volume(volume_id)
        outcome, log = self.ironic('attach', [volume_id])
        self.assertIn('Failed to reserve volume %s' % volume_id, outcome['error'])
        # Only the reservation made before: Ironic added none.
        status, deleted, attachments = self.db_state(volume_id)
        self.assertEqual(('attaching', ['reserved']), (status, list(attachments.values())))

    def test_attach_and_detach_record_the_node_in_volume_metadata(self):
        [volume_id] = self._volumes(1)
        storage = self.sdk().block_storage
        key = 'ironic_node_%s' % self.node['uuid']
        outcome, log = self.ironic('attach', [volume_id])
        self.assertNotIn('Failed to update volume metadata', log)
        recorded = json.loads(storage.get_volume(volume_id).metadata[key])
        self.assertEqual((self.node['instance_uuid'], 'attached'),
                         (recorded['instance_uuid'], recorded['last_action']))
        outcome, log = self.ironic('detach', [volume_id])
        self.assertNotIn('Failed to update volume', log)
        recorded = json.loads(storage.get_volume(volume_id).metadata[key])
        self.assertEqual('detached', recorded['last_action'])
