"""python-openstackclient's ``volume`` and ``volume attachment`` commands, run as the real
``openstack`` command line against a running attachd, with ``-f json`` output parsed.

Authentication is keystoneauth's ``admin_token`` plugin (``--os-auth-type admin_token
--os-endpoint ... --os-token user:project``): every service's endpoint is attachd's
block-storage URL and the token is the noauth ``user:project``.

``volume attachment create`` looks the server up in Nova first (``find_server``), and Nova
cannot run here, so :class:`ComputeLookup` answers that one call (the version document and
``GET /servers/{id}`` of the servers it was given) on a loopback port; the test checks that
the client asked it for the server and that attachd recorded that server.
"""

import http.server
import json
import os
import subprocess
import threading
import uuid

import fixtures

from attachd.tests import base as test_base
from attachd.tests.functional.conformance import base
from attachd.tests.functional.conformance import server
from attachd.tests.functional.deploy import base as dbase


class ComputeLookup(fixtures.Fixture):
    """A loopback HTTP server answering Nova's version document and ``GET /servers/{id}``
    for ``servers``; ``endpoint`` is its ``/v2.1`` URL, ``asked`` the server ids looked up."""

    def __init__(self, servers):
        super().__init__()
        self.servers = set(servers)
        self.asked = []

    def _setUp(self):
        fixture = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                path = self.path.rstrip('/')
                if path == '/v2.1':
                    body = {'version': {
                        'id': 'v2.1', 'status': 'CURRENT', 'version': '2.96',
                        'min_version': '2.1',
                        'links': [{'rel': 'self', 'href': fixture.endpoint + '/'}]}}
                elif (path.startswith('/v2.1/servers/')
                      and path.rsplit('/', 1)[1] in fixture.servers):
                    server_id = path.rsplit('/', 1)[1]
                    fixture.asked.append(server_id)
                    body = {'server': {'id': server_id, 'name': 'server-%s' % server_id}}
                else:
                    self.send_response(404)
                    self.send_header('Content-Length', '0')
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.endpoint = 'http://127.0.0.1:%d/v2.1' % server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)


class OpenStackClientTest(base.ConformanceTestCase):

    # Embedded only: each command costs ~2 s of interpreter start, and the requests it
    # makes are openstacksdk's, which test_openstacksdk drives through both modes.
    scenarios = [server.SCENARIOS[0]]

    def setUp(self):
        super().setUp()
        self.server_id = str(uuid.uuid4())
        self.compute = self.useFixture(ComputeLookup([self.server_id]))

    def openstack(self, *args, version='3.54', user='member', expect_error=False):
        """Run ``openstack <args>`` as ``user`` of the test's project; the parsed ``-f
        json`` output, or the stderr of a command expected to fail."""
        # The caller's own OS_* settings (a clouds.yaml cloud, a password) must not leak in.
        env = {key: value for key, value in os.environ.items()
               if not key.startswith('OS_')}
        env.update(OS_COMPUTE_ENDPOINT_OVERRIDE=self.compute.endpoint,
                   PYTHONWARNINGS='ignore')
        command = [dbase.console_script('openstack'), '--os-auth-type', 'admin_token',
                   '--os-endpoint', self.volume_endpoint,
                   '--os-token', '%s:%s' % (user, self.project),
                   '--os-volume-api-version', version] + list(args)
        result = subprocess.run(command, capture_output=True, text=True, env=env,
                                timeout=120)
        if expect_error:
            self.assertNotEqual(0, result.returncode, result.stdout)
            return result.stderr
        self.assertEqual(0, result.returncode, result.stderr)
        return json.loads(result.stdout) if result.stdout.strip() else None

    def test_volume_create_show_list_delete(self):
        created = self.openstack('volume', 'create', '--size', '2', '--description',
                                 'osc', 'osc-data', '-f', 'json')
        self.assertEqual('osc-data', created['name'])
        self.assertEqual(2, created['size'])
        volume_id = created['id']
        test_base.wait_for(lambda: self.db_state(volume_id)[0] == 'available')

        shown = self.openstack('volume', 'show', 'osc-data', '-f', 'json')
        self.assertEqual((volume_id, 'available', 'osc'),
                         (shown['id'], shown['status'], shown['description']))
        listed = self.openstack('volume', 'list', '--long', '-f', 'json')
        self.assertEqual([(volume_id, 'osc-data', 'available', 2)],
                         [(v['ID'], v['Name'], v['Status'], v['Size']) for v in listed])

        self.openstack('volume', 'delete', volume_id)
        test_base.wait_for(lambda: self.db_state(volume_id)[1])
        self.assertEqual([], self.openstack('volume', 'list', '-f', 'json'))
        self.assertIn('No Volume found for %s' % volume_id,
                      self.openstack('volume', 'show', volume_id, expect_error=True))
        self.assertDbState(volume_id, 'deleted', deleted=True)

    def test_attachment_create_set_complete_list_show_delete(self):
        volume_id = self.openstack('volume', 'create', '--size', '1', 'osc-attach',
                                   '-f', 'json')['id']
        test_base.wait_for(lambda: self.db_state(volume_id)[0] == 'available')

        # Reserve (no connector), as Nova does before it knows the host.
        reserved = self.openstack('volume', 'attachment', 'create', volume_id,
                                  self.server_id, '-f', 'json')
        attachment_id = reserved['ID']
        self.assertEqual('reserved', reserved['Status'])
        self.assertEqual([self.server_id], self.compute.asked)
        self.assertDbState(volume_id, 'reserved', {attachment_id: 'reserved'})

        connected = self.openstack(
            'volume', 'attachment', 'set', attachment_id, '--initiator',
            base.CONNECTOR['initiator'], '--ip', '127.0.0.1', '--host', 'compute1',
            '--platform', 'x86_64', '--os-type', 'linux', '--no-multipath',
            '--mountpoint', '/dev/vdb', '-f', 'json')
        self.assertEqual('local', connected['Properties']['driver_volume_type'])
        self.assertDbState(volume_id, 'attaching', {attachment_id: 'attaching'})

        self.openstack('volume', 'attachment', 'complete', attachment_id)
        self.assertDbState(volume_id, 'in-use', {attachment_id: 'attached'})
        shown = self.openstack('volume', 'attachment', 'show', attachment_id, '-f', 'json')
        self.assertEqual((attachment_id, volume_id, self.server_id, 'attached'),
                         (shown['ID'], shown['Volume ID'], shown['Instance ID'],
                          shown['Status']))
        listed = self.openstack('volume', 'attachment', 'list', '--volume-id', volume_id,
                                '-f', 'json')
        self.assertEqual([(attachment_id, self.server_id, 'attached')],
                         [(a['ID'], a['Server ID'], a['Status']) for a in listed])
        by_server = self.openstack('volume', 'attachment', 'list', '--server-id',
                                   self.server_id, '-f', 'json')
        self.assertEqual([attachment_id], [a['ID'] for a in by_server])

        # The owner alone may not pull a connected volume from under a server
        # (OSSA-2023-003): the command reports attachd's 409 and nothing changes.
        error = self.openstack('volume', 'attachment', 'delete', attachment_id,
                               expect_error=True)
        self.assertIn('ConflictNovaUsingAttachment', error)
        self.assertDbState(volume_id, 'in-use', {attachment_id: 'attached'})

        # A reservation that was never connected is the owner's to delete.
        second = self.openstack('volume', 'attachment', 'create', volume_id,
                                self.server_id, '-f', 'json')['ID']
        self.assertDbState(volume_id, 'in-use', {attachment_id: 'attached',
                                                 second: 'reserved'})
        self.openstack('volume', 'attachment', 'delete', second)
        self.assertDbState(volume_id, 'in-use', {attachment_id: 'attached'})

    def test_attachment_create_with_connect_and_mode(self):
        volume_id = self.openstack('volume', 'create', '--size', '1', 'osc-ro',
                                   '-f', 'json')['id']
        test_base.wait_for(lambda: self.db_state(volume_id)[0] == 'available')
        created = self.openstack(
            'volume', 'attachment', 'create', volume_id, self.server_id, '--connect',
            '--initiator', base.CONNECTOR['initiator'], '--ip', '127.0.0.1', '--host',
            'compute1', '--mode', 'ro', '-f', 'json')
        self.assertEqual('ro', created['Attach Mode'])
        self.assertEqual('ro', created['Properties']['access_mode'])
        self.assertDbState(volume_id, 'attaching', {created['ID']: 'attaching'})

    def test_attachment_commands_need_3_27(self):
        error = self.openstack('volume', 'attachment', 'list', version='3.26',
                               expect_error=True)
        self.assertIn('3.27 or greater is required', error)
