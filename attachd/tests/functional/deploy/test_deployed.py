"""The deployed mode, as separate processes: the API under gunicorn and attachd-manager
processes, over the real RabbitMQ and a fresh PostgreSQL database whose schema
``attachd-manage db sync`` creates. iSCSI attachments go through a real tgtd and are
checked with a real initiator (qemu-io)."""

import datetime
import os
import signal
import subprocess
import threading
import time
import uuid

from oslo_utils import timeutils

from attachd import context
from attachd import exception
from attachd.db import api as db_api
from attachd.drivers import tgt
from attachd.manager import rpcapi
from attachd.objects import service as service_obj
from attachd.objects import volume as volume_obj
from attachd.objects import volume_attachment as attachment_obj
from attachd.tests import base
from attachd.tests.functional.deploy import base as dbase
from attachd.tests.functional.drivers import test_tgt

CONNECTOR = {'host': 'compute1', 'initiator': 'iqn.2026-01.org.example:compute1',
             'ip': '127.0.0.1', 'platform': 'x86_64', 'os_type': 'linux',
             'multipath': False}


class EmptyPostgreSQLDbFixture(base.PostgreSQLDbFixture):
    """A fresh PostgreSQL database without tables: the test runs db sync itself."""

    _BUILD_SCHEMA = False


class DeployedTestCase(dbase.ProcessMixin, base.PostgreSQLMixin, base.DbTestCase):
    FIXTURE = EmptyPostgreSQLDbFixture
    #: The test runs managers of the tgt backend.
    needs_tgt = True

    def setUp(self):
        super().setUp()
        base.need_rabbit(self)
        if self.needs_tgt:
            base.need_service(self, 'tgtd, tgtadm and qemu-io', test_tgt.tgt_usable())
        self.db_url = self.engine.url.render_as_string(hide_password=False)
        self.tgt_control_port = 1000 + (os.getpid() + 7) % 30000
        self.tgt_portal_port = dbase.free_port()
        self.addCleanup(self.kill_tgtd)
        self.run_command([dbase.console_script('attachd-manage'), '--config-file',
                          self.write_config(self.config_text('manage', backends=('file',))),
                          'db', 'sync'])

    def config_text(self, name, host=None, backends=('tgt',), extra=''):
        text = ('[DEFAULT]\n'
                'transport_url = %(rabbit)s\n'
                'state_path = %(state)s\n'
                'enabled_backends = %(backends)s\n'
                'rpc_response_timeout_api = 5\n'
                '%(host)s'
                '[database]\n'
                'connection = %(db)s\n'
                '[manager]\n'
                'report_interval = 1\n'
                'service_down_time = 10\n'
                % {'rabbit': base.RABBIT_URL, 'db': self.db_url,
                   'state': os.path.join(self.workdir, 'state-%s' % name),
                   'backends': ','.join(backends),
                   'host': 'host = %s\n' % host if host else ''})
        if 'tgt' in backends and name != 'api':
            text += ('[tgt]\n'
                     'connector_driver = tgt\n'
                     'tgt_portal_port = %d\n'
                     'tgt_control_port = %d\n'
                     'tgt_iqn_prefix = iqn.2026-01.org.attachd.functional:\n'
                     % (self.tgt_portal_port, self.tgt_control_port))
        return text + extra

    def run_command(self, args):
        result = subprocess.run(args, capture_output=True, text=True, timeout=120,
                                env=dict(os.environ, PYTHONWARNINGS='ignore'))
        self.assertEqual(0, result.returncode, result.stdout + result.stderr)
        return result.stdout

    def start_manager(self, node, backends, env=None, name=None):
        name = name or node
        # The state directory follows the node, so a restarted manager finds its files.
        config = self.write_config(self.config_text(node, host=node, backends=backends),
                                   '%s.conf' % name)
        return self.spawn([dbase.console_script('attachd-manager'), '--config-file',
                           config], name, env=env)

    def wait_manager_up(self, node, backend, process, timeout=30):
        ctx = context.get_admin_context()
        deadline = time.monotonic() + timeout
        while True:
            try:
                service = service_obj.Service.get_by_args(ctx, node, rpcapi.BINARY,
                                                          backend)
                if service.is_up and service.heartbeat_at.replace(tzinfo=None) > (
                        db_api.utcnow() - datetime.timedelta(seconds=2)):
                    return service
            except exception.ServiceNotFound:
                pass
            if process.poll() is not None:
                self.fail('manager %s exited with %s' % (node, process.returncode))
            if time.monotonic() > deadline:
                self.fail('manager %s@%s did not come up' % (node, backend))
            time.sleep(0.1)

    def kill_tgtd(self):
        """Kill the tgtd the managers of this test started (whichever state dir)."""
        for name in os.listdir(self.workdir):
            pid_file = os.path.join(self.workdir, name, 'tgt-volumes',
                                    'tgtd-%d.pid' % self.tgt_control_port)
            try:
                with open(pid_file) as f:
                    pid = int(f.read().strip())
                os.kill(pid, signal.SIGKILL)
            except (OSError, ValueError):
                pass

    def tgt_targets(self):
        result = subprocess.run(['tgtadm', '--control-port', str(self.tgt_control_port),
                                 '--lld', 'iscsi', '--op', 'show', '--mode', 'target'],
                                capture_output=True, text=True)
        return tgt.parse_targets(result.stdout)


class GunicornAndTwoManagersTest(DeployedTestCase):

    def test_attach_and_detach_through_gunicorn_and_two_managers(self):
        node_a = 'node-a-%s' % uuid.uuid4().hex[:8]
        node_b = 'node-b-%s' % uuid.uuid4().hex[:8]
        manager_a = self.start_manager(node_a, ('tgt',))
        manager_b = self.start_manager(node_b, ('file',))
        port = dbase.free_port()
        api_config = self.write_config(
            self.config_text('api', backends=('tgt', 'file')), 'api.conf')
        api = self.spawn(['gunicorn', '--bind', '127.0.0.1:%d' % port, '--workers', '2',
                          '--threads', '4', 'attachd.wsgi.api:application'], 'gunicorn',
                         env={'ATTACHD_CONFIG_FILE': api_config})
        endpoint = 'http://127.0.0.1:%d' % port
        dbase.wait_http(endpoint + '/', process=api)
        self.wait_manager_up(node_a, 'tgt', manager_a)
        self.wait_manager_up(node_b, 'file', manager_b)
        client = dbase.Client(endpoint)

        # iSCSI on node A (the first enabled backend).
        volume = client.create_volume()
        self.assertEqual('%s@tgt' % node_a, volume_obj.Volume.get_by_id(
            context.get_admin_context(), volume['id']).host)
        attachment = client.attach(volume['id'], CONNECTOR)
        info = attachment['connection_info']
        self.assertEqual('iscsi', info['driver_volume_type'])
        code, output = test_tgt.qemu_io(info, CONNECTOR['initiator'],
                                        'write -P 0x5a 0 4k', 'read -P 0x5a 0 4k')
        self.assertEqual(0, code, output)
        code, output = test_tgt.qemu_io(info, test_tgt.STRANGER, 'read 0 512')
        self.assertNotEqual(0, code, output)
        client.wait_volume(volume['id'], 'in-use')
        client.detach(attachment['id'])
        client.wait_volume(volume['id'], 'available')
        code, output = test_tgt.qemu_io(info, CONNECTOR['initiator'], 'read 0 512')
        self.assertNotEqual(0, code, output)
        self.assertEqual({}, self.tgt_targets())

        # A file volume on node B, through a volume type naming its backend.
        admin = dbase.Client(endpoint, user='admin')
        vtype = admin.request('POST', '/types', {'volume_type': {
            'name': 'local', 'extra_specs': {'volume_backend_name': 'file'}}})
        volume = client.create_volume(volume_type=vtype['volume_type']['name'])
        self.assertEqual('%s@file' % node_b, volume_obj.Volume.get_by_id(
            context.get_admin_context(), volume['id']).host)
        attachment = client.attach(volume['id'], CONNECTOR)
        self.assertEqual('local', attachment['connection_info']['driver_volume_type'])
        client.detach(attachment['id'])
        client.wait_volume(volume['id'], 'available')
        client.request('DELETE', '/volumes/%s' % volume['id'])

        # A manager that stops is reported at once, not after an RPC timeout.
        self.assertEqual(0, self.stop(manager_b))
        db_api.service_update(context.get_admin_context(), service_obj.Service.get_by_args(
            context.get_admin_context(), node_b, rpcapi.BINARY, 'file').id,
            {'heartbeat_at': db_api.utcnow() - datetime.timedelta(seconds=60)})
        volume_b = volume_obj.Volume(context.get_admin_context(), size=1,
                                     project_id=client.project, status='available',
                                     attach_status='detached', host='%s@file' % node_b)
        volume_b.create()
        reservation = client.request('POST', '/attachments', {'attachment': {
            'volume_uuid': volume_b.id, 'instance_uuid': str(uuid.uuid4())}})['attachment']
        with timeutils.StopWatch() as watch:
            error = self.assertRaises(dbase.HttpError, client.request, 'PUT',
                                      '/attachments/%s' % reservation['id'],
                                      {'attachment': {'connector': CONNECTOR}})
        self.assertEqual(503, error.status)
        self.assertLess(watch.elapsed(), 3)


class ManagerKilledDuringUpdateTest(DeployedTestCase):
    """A manager SIGKILLed in the middle of an update (its tgtadm hangs after the target
    was made): the caller gets 504 within its timeout, the reservation stays, and after a
    restart nothing is left half-exported and a retry attaches."""

    def setUp(self):
        super().setUp()
        self.flags(transport_url=base.RABBIT_URL)
        self.flags(rpc_response_timeout_api=5)
        self.flags(service_down_time=10, group='manager')
        shim_dir = os.path.join(self.workdir, 'bin')
        os.makedirs(shim_dir)
        shim = os.path.join(shim_dir, 'tgtadm')
        with open(shim, 'w') as f:
            # Granting an initiator hangs: the manager is stuck after exporting.
            f.write('#!/bin/sh\ncase "$*" in *--initiator-name*) sleep 120;; esac\n'
                    'exec /usr/sbin/tgtadm "$@"\n')
        os.chmod(shim, 0o755)
        self.hanging_env = {'PATH': shim_dir + os.pathsep + os.environ['PATH']}

    def test_sigkill_during_update(self):
        node = 'node-k-%s' % uuid.uuid4().hex[:8]
        ctx = context.RequestContext(user_id='user', project_id='project')
        manager = self.start_manager(node, ('tgt',), env=self.hanging_env, name='hanging')
        self.wait_manager_up(node, 'tgt', manager)
        volume = volume_obj.Volume(ctx, size=1, project_id='project', status='creating',
                                   attach_status='detached', host='%s@tgt' % node)
        volume.create()
        api = rpcapi.ManagerAPI()
        api.create_volume(ctx, volume)
        test_tgt.mbase.wait_for(lambda: volume_obj.Volume.get_by_id(
            ctx, volume.id).status == 'available', timeout=30)
        volume = volume_obj.Volume.get_by_id(ctx, volume.id)
        attachment = attachment_obj.VolumeAttachment.reserve(ctx, volume.id,
                                                             str(uuid.uuid4()))

        def kill_when_exported():
            test_tgt.mbase.wait_for(lambda: self.tgt_targets(), timeout=30)
            manager.send_signal(signal.SIGKILL)
        killer = threading.Thread(target=kill_when_exported)
        killer.start()
        with timeutils.StopWatch() as watch:
            self.assertRaises(exception.ManagerTimeout, api.attachment_update, ctx,
                              volume, attachment, CONNECTOR)
        killer.join()
        self.assertLess(watch.elapsed(), 5 + 3)
        self.assertEqual(-signal.SIGKILL, manager.wait(10))
        # The export was half made when the manager died.
        self.assertEqual(1, len(self.tgt_targets()))
        attachment = attachment_obj.VolumeAttachment.get_by_id(ctx, attachment.id)
        self.assertEqual('reserved', attachment.attach_status)
        self.assertIsNone(attachment.connector)
        self.assertEqual('reserved', volume_obj.Volume.get_by_id(ctx, volume.id).status)

        # Restarted (and no longer hanging): the half-made export is gone before it
        # serves, and a retry of the same update attaches.
        manager = self.start_manager(node, ('tgt',), name='restarted')
        self.wait_manager_up(node, 'tgt', manager)
        self.assertEqual({}, self.tgt_targets())
        info = api.attachment_update(ctx, volume, attachment, CONNECTOR).connection_info
        code, output = test_tgt.qemu_io(info, CONNECTOR['initiator'], 'read 0 512')
        self.assertEqual(0, code, output)
        self.assertEqual('attaching', volume_obj.Volume.get_by_id(ctx, volume.id).status)

