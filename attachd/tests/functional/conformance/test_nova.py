"""Nova's own block-storage client, ``nova.volume.cinder.API``, against a running attachd.

The calls are Nova's (the ``nova`` package from PyPI, in a process of its own: see
:mod:`attachd.tests.functional.conformance.nova_volume_api`), configured as an operator
configures Nova: ``[cinder] endpoint_template`` names attachd, the user's token is the
noauth ``user:project`` and ``[service_user] send_service_user_token`` adds Nova's service
token (``X-Service-Token``, keystoneauth's ``admin_token`` plugin). The sequences are those
of Nova's compute manager: boot from volume, attach and detach, live migration with
attachments and with the legacy calls, hard reboot's refresh, resize's and shelve's second
attachment, multiattach, and the exceptions Nova maps from 404, 400 and 409.
"""

import json
import os
import subprocess
import sys
import uuid

from attachd.tests.functional.conformance import server
from attachd.tests.functional.deploy import base as dbase

DRIVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'nova_volume_api.py')
SERVER_A = '55555555-5555-5555-5555-555555555555'
SERVER_B = '66666666-6666-6666-6666-666666666666'


def connector(host):
    """What Nova's libvirt driver sends (os-brick's properties plus Nova's keys)."""
    return {'platform': 'x86_64', 'os_type': 'linux', 'ip': '127.0.0.1', 'host': host,
            'multipath': False, 'do_local_attach': False, 'system uuid': str(uuid.uuid4()),
            'initiator': 'iqn.1993-08.org.debian:01:%s' % host, 'mountpoint': '/dev/vdb'}


class NovaError(Exception):
    """An exception raised by Nova's code, by its class path."""

    def __init__(self, name, message):
        super().__init__('%s: %s' % (name, message))
        self.name = name


class NovaProcess:
    """The Nova process for one attachd endpoint (see the driver's docstring), configured
    with ``nova_conf`` (the text of a ``nova.conf``) or else for a noauth attachd at
    ``endpoint``."""

    def __init__(self, endpoint, directory, nova_conf=None, name='nova'):
        self.endpoint = endpoint
        if nova_conf is None:
            nova_conf = ('[cinder]\n'
                         'endpoint_template = %(endpoint)s/v3/%%(project_id)s\n'
                         'os_region_name = RegionOne\n'
                         'http_retries = 0\n'
                         '[service_user]\n'
                         'send_service_user_token = true\n'
                         'auth_type = admin_token\n'
                         'endpoint = %(endpoint)s\n'
                         'token = nova:service\n' % {'endpoint': endpoint})
        config = os.path.join(directory, name + '.conf')
        with open(config, 'w') as f:
            f.write(nova_conf)
        self.log = os.path.join(directory, name + '.log')
        self.stderr = open(self.log, 'w')
        self.process = subprocess.Popen(
            [sys.executable, DRIVER, config], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self.stderr, text=True, env=dict(os.environ, PYTHONWARNINGS='ignore'))

    def call(self, request):
        self.process.stdin.write(json.dumps(request) + '\n')
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError('the Nova process exited (%s); see %s'
                               % (self.process.poll(), self.log))
        return json.loads(line)

    def close(self):
        self.process.stdin.close()
        dbase.ProcessMixin.stop(self.process)
        self.stderr.close()


class NovaVolumeAPI:
    """``api.<method>(args)`` runs ``nova.volume.cinder.API().<method>(context, args)`` in
    the Nova process, with a context of ``user`` in ``project`` (``context``: its
    ``token`` and ``catalog``, or ``admin``, as the driver reads them)."""

    def __init__(self, process, user, project, **context):
        self.nova_process = process
        self.user = user
        self.project = project
        self.context = context

    def __getattr__(self, method):
        def call(*args, **kwargs):
            answer = self.nova_process.call(dict(
                self.context, user=self.user, project=self.project, method=method,
                args=args, kwargs=kwargs))
            if 'error' in answer:
                raise NovaError(answer['error'], answer['message'])
            return answer['result']
        return call


class NovaVolumeAPITest(server.ServerTestCase):
    """One Nova process per class and server mode (it starts in about a second), each
    test in a project of its own."""

    _novas = None
    #: What the backend's connection_info says.
    driver_volume_type = 'local'

    @classmethod
    def tearDownClass(cls):
        while cls._novas:
            cls._novas.popitem()[1].close()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        if type(self)._novas is None:
            type(self)._novas = {}
        process = self._novas.get(self.mode)
        if (process is None or process.process.poll() is not None
                or process.endpoint != self.endpoint):
            process = self._novas[self.mode] = NovaProcess(self.endpoint,
                                                           self.server.workdir)
        self.project = uuid.uuid4().hex
        self.nova = NovaVolumeAPI(process, 'user', self.project)
        self.http = dbase.Client(self.endpoint, project=self.project)
        self.admin = dbase.Client(self.endpoint, project=self.project, user='admin')

    def create_volume(self, volume_type=None):
        return self.http.create_volume(volume_type=volume_type)['id']

    def status(self, volume_id):
        return self.nova.get(volume_id)['status']

    def assertNovaRaises(self, name, method, *args, **kwargs):
        error = self.assertRaises(NovaError, getattr(self.nova, method), *args, **kwargs)
        self.assertEqual(name, error.name)
        return error

    def attach(self, volume_id, instance=SERVER_A, host='c1', first=True):
        """_attach_volume / boot from volume: reserve, connect, complete."""
        attachment = self.nova.attachment_create(volume_id, instance)
        # A multiattach volume in use stays in-use while another server reserves it.
        self.assertEqual('reserved' if first else 'in-use', self.status(volume_id))
        updated = self.nova.attachment_update(attachment['id'], connector(host),
                                              mountpoint='/dev/vdb')
        self.assertEqual(self.driver_volume_type,
                         updated['connection_info']['driver_volume_type'])
        self.nova.attachment_complete(attachment['id'])
        self.assertEqual('in-use', self.status(volume_id))
        return attachment['id']

    def test_boot_from_volume_attach_and_detach(self):
        volume_id = self.create_volume()
        volume = self.nova.get(volume_id)
        self.nova.check_availability_zone(volume)
        attachment_id = self.attach(volume_id)
        volume = self.nova.get(volume_id)
        self.assertEqual('attached', volume['attach_status'])
        self.assertEqual({SERVER_A}, set(volume['attachments']))
        shown = self.nova.attachment_get(attachment_id)
        self.assertEqual(self.driver_volume_type,
                         shown['connection_info']['driver_volume_type'])
        self.assertEqual([attachment_id], [a['id'] for a in self.nova.attachment_get_all(
            instance_id=SERVER_A)])
        # Nova's detach: the attachment goes, with the service token.
        self.nova.attachment_delete(attachment_id)
        self.assertEqual('available', self.status(volume_id))

    def test_live_migration(self):
        volume_id = self.create_volume()
        source = self.attach(volume_id)
        # pre_live_migration on the destination: a second attachment with its connector.
        destination = self.nova.attachment_create(volume_id, SERVER_A,
                                                  connector=connector('c2'))
        self.assertEqual(self.driver_volume_type,
                         destination['connection_info']['driver_volume_type'])
        self.assertEqual('in-use', self.status(volume_id))
        # post_live_migration: the new one completes, the old one goes.
        self.nova.attachment_complete(destination['id'])
        self.nova.attachment_delete(source)
        self.assertEqual('in-use', self.status(volume_id))
        self.assertEqual([destination['id']], [a['id'] for a in self.nova.attachment_get_all(
            volume_id=volume_id)])
        self.nova.attachment_delete(destination['id'])
        self.assertEqual('available', self.status(volume_id))

    def test_legacy_live_migration_and_hard_reboot(self):
        volume_id = self.create_volume()
        # A block-device mapping from before attachments: the legacy calls.
        self.nova.reserve_volume(volume_id)
        info = self.nova.initialize_connection(volume_id, connector('c1'))
        self.assertEqual(self.driver_volume_type, info['driver_volume_type'])
        self.nova.attach(volume_id, SERVER_A, '/dev/vdb')
        self.assertEqual('in-use', self.status(volume_id))
        # Hard reboot's refresh_connection_info: the same host again, nothing changes.
        self.nova.initialize_connection(volume_id, connector('c1'))
        self.assertEqual('in-use', self.status(volume_id))
        # pre_live_migration: the destination's connection.
        info = self.nova.initialize_connection(volume_id, connector('c2'))
        self.assertEqual('c2', info['connector']['host'])
        self.assertEqual('in-use', self.status(volume_id))
        # post_live_migration: the source's connection goes.
        self.nova.terminate_connection(volume_id, connector('c1'))
        volume = self.nova.get(volume_id)
        self.assertEqual(('in-use', {SERVER_A}), (volume['status'],
                                                  set(volume['attachments'])))
        # Detach on the destination.
        self.nova.begin_detaching(volume_id)
        self.nova.terminate_connection(volume_id, connector('c2'))
        self.nova.detach(volume_id, instance_uuid=SERVER_A)
        self.assertEqual('available', self.status(volume_id))

    def test_legacy_live_migration_rollback(self):
        volume_id = self.create_volume()
        self.nova.reserve_volume(volume_id)
        self.nova.initialize_connection(volume_id, connector('c1'))
        self.nova.attach(volume_id, SERVER_A, '/dev/vdb')
        self.nova.initialize_connection(volume_id, connector('c2'))
        self.nova.terminate_connection(volume_id, connector('c2'))
        self.assertEqual('in-use', self.status(volume_id))
        self.nova.begin_detaching(volume_id)
        self.nova.roll_detaching(volume_id)
        self.assertEqual('in-use', self.status(volume_id))

    def test_hard_reboot_refreshes_an_attachment(self):
        volume_id = self.create_volume()
        attachment_id = self.attach(volume_id)
        # refresh_connection_info of a mapping with an attachment id re-reads it.
        info = self.nova.attachment_get(attachment_id)['connection_info']
        self.assertEqual((self.driver_volume_type, 'attached', SERVER_A),
                         (info['driver_volume_type'], info['status'], info['instance']))
        self.assertEqual('in-use', self.status(volume_id))

    def test_resize_and_shelve_second_attachment(self):
        volume_id = self.create_volume()
        old = self.attach(volume_id)
        # _terminate_volume_connections: a new reservation for the server, the old goes.
        new = self.nova.attachment_create(volume_id, SERVER_A)
        self.nova.attachment_delete(old)
        self.assertEqual('reserved', self.status(volume_id))
        # finish_resize / unshelve on the new host.
        self.nova.attachment_update(new['id'], connector('c2'), mountpoint='/dev/vdb')
        self.nova.attachment_complete(new['id'])
        self.assertEqual('in-use', self.status(volume_id))
        self.nova.attachment_delete(new['id'])

    def test_multiattach(self):
        name = 'multi-%s' % uuid.uuid4().hex[:8]
        self.admin.request('POST', '/types', {'volume_type': {
            'name': name, 'extra_specs': {'multiattach': '<is> True'}}})
        volume_id = self.create_volume(volume_type=name)
        self.assertTrue(self.nova.get(volume_id)['multiattach'])
        first = self.attach(volume_id, SERVER_A, 'c1')
        second = self.attach(volume_id, SERVER_B, 'c2', first=False)
        self.assertEqual({SERVER_A, SERVER_B}, set(self.nova.get(volume_id)['attachments']))
        self.nova.attachment_delete(first)
        self.assertEqual('in-use', self.status(volume_id))
        self.nova.attachment_delete(second)
        self.assertEqual('available', self.status(volume_id))

    def test_error_mapping(self):
        missing = str(uuid.uuid4())
        self.assertNovaRaises('nova.exception.VolumeNotFound', 'get', missing)
        self.assertNovaRaises('nova.exception.VolumeAttachmentNotFound', 'attachment_get',
                              missing)
        volume_id = self.create_volume()
        self.attach(volume_id)
        # 400: another server may not take a volume that is not multiattach.
        self.assertNovaRaises('nova.exception.InvalidInput', 'attachment_create',
                              volume_id, SERVER_B)
        self.assertNovaRaises('nova.exception.InvalidInput', 'reserve_volume', volume_id)
        # 409: the user alone may not delete a connected attachment of a server.
        [attachment] = self.http.request('GET', '/attachments')['attachments']
        error = self.assertRaises(dbase.HttpError, self.http.request, 'DELETE',
                                  '/attachments/%s' % attachment['id'])
        self.assertEqual(409, error.status)
        # Nova deletes with its service token; a second delete is Nova's "not found".
        self.nova.attachment_delete(attachment['id'])
        self.nova.attachment_delete(attachment['id'])

    def test_absolute_limits(self):
        self.create_volume()
        limits = self.nova.get_absolute_limits()
        self.assertEqual(1, limits['totalVolumesUsed'])
        self.assertEqual(-1, limits['maxTotalVolumes'])


class RbdNovaVolumeAPITest(NovaVolumeAPITest):
    """Nova's cycle on a volume of the ``rbd`` backend, against a private Ceph."""

    backends = ('rbd',)
    driver_volume_type = 'rbd'
