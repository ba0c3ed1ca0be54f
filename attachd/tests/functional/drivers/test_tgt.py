"""The tgt driver against a real tgtd, with a real userspace initiator (qemu-io's iscsi
driver, libiscsi). Each test runs a tgtd of its own (own control port and portal port),
started by the driver as a manager would, and kills it afterwards."""

import os
import shutil
import signal
import socket
import subprocess

import fixtures

from attachd import exception
from attachd.conf import backend as backend_conf
from attachd.drivers import tgt
from attachd.tests import base
from attachd.tests.functional.manager import base as mbase

HOST_A = mbase.connector('compute1', 'iqn.2026-01.org.example:compute1')
HOST_B = mbase.connector('compute2', 'iqn.2026-01.org.example:compute2')
STRANGER = 'iqn.2026-01.org.example:stranger'


def tgt_usable():
    return (os.geteuid() == 0 and all(shutil.which(tool) for tool in ('tgtd', 'tgtadm',
                                                                       'qemu-io')))


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def qemu_io(info, initiator, *commands, password=None):
    """Log in to the target of ``info`` as ``initiator`` and run qemu-io ``commands``.

    :returns: (exit code, output).
    """
    address, port = info['target_portal'].rsplit(':', 1)
    options = ('driver=iscsi,transport=tcp,portal=%s:%s,target=%s,lun=%d,'
               'initiator-name=%s' % (address, port, info['target_iqn'], info['target_lun'],
                                      initiator))
    args = ['qemu-io']
    if info.get('auth_method') == 'CHAP':
        args += ['--object', 'secret,id=chap,data=%s' % (password or info['auth_password'])]
        options += ',user=%s,password-secret=chap' % info['auth_username']
    args += ['--image-opts', options]
    for command in commands:
        args += ['-c', command]
    result = subprocess.run(args, capture_output=True, text=True, timeout=60)
    return result.returncode, result.stdout + result.stderr


class TgtTestCase(mbase.ManagerTestMixin, base.DbTestCase):

    backend = 'tgt'

    def setUp(self):
        super().setUp()
        base.need_service(self, 'tgtd, tgtadm and qemu-io (root, Debian packages tgt, '
                     'qemu-utils, qemu-block-extra)', tgt_usable())
        self.log = self.useFixture(fixtures.FakeLogger(level='DEBUG'))
        self.control_port = 1000 + os.getpid() % 30000
        self.portal_port = free_port()
        self.register_backend()
        self.addCleanup(self.kill_tgtd)
        self.svc = self.start_manager('tgt')

    def register_backend(self):
        backend_conf.register_backend_opts(self.conf, 'tgt')
        self.conf.register_opts(tgt.OPTS, group='tgt')
        self.flags(group='tgt', tgt_control_port=self.control_port,
                   tgt_portal_port=self.portal_port,
                   tgt_iqn_prefix='iqn.2026-01.org.attachd.test:')

    def pid_file(self):
        return os.path.join(self.state_path, 'tgt-volumes',
                            'tgtd-%d.pid' % self.control_port)

    def kill_tgtd(self):
        try:
            with open(self.pid_file()) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            return
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.unlink(self.pid_file())
        mbase.wait_for(lambda: subprocess.run(
            ['tgtadm', '--control-port', str(self.control_port), '--op', 'show',
             '--mode', 'system'], capture_output=True).returncode != 0)

    def assertLogsIn(self, info, initiator, password=None):
        code, output = qemu_io(info, initiator, 'read 0 512', password=password)
        self.assertEqual(0, code, output)

    def assertRefused(self, info, initiator, password=None):
        code, output = qemu_io(info, initiator, 'read 0 512', password=password)
        self.assertNotEqual(0, code, output)
        return output

    def targets(self):
        return self.svc.manager.driver._targets()


class TgtDriverTest(TgtTestCase):

    def test_granted_initiator_writes_and_reads_back(self):
        volume = self.create()
        attachment, info = self.attach(volume, HOST_A)
        self.assertEqual('iscsi', info['driver_volume_type'])
        self.assertEqual('127.0.0.1:%d' % self.portal_port, info['target_portal'])
        self.assertEqual('iqn.2026-01.org.attachd.test:volume-%s' % volume.id,
                         info['target_iqn'])
        self.assertEqual(1, info['target_lun'])
        self.assertEqual('CHAP', info['auth_method'])
        code, output = qemu_io(info, HOST_A['initiator'], 'write -P 0xa5 65536 4k',
                               'read -P 0xa5 65536 4k')
        self.assertEqual(0, code, output)
        self.assertNotIn('verification failed', output)
        with open(os.path.join(self.state_path, 'tgt-volumes',
                               'volume-%s' % volume.id), 'rb') as backing:
            backing.seek(65536)
            self.assertEqual(b'\xa5' * 4096, backing.read(4096))

    def test_other_initiator_is_refused(self):
        volume = self.create()
        _attachment, info = self.attach(volume, HOST_A)
        output = self.assertRefused(info, STRANGER)
        self.assertIn('not found', output.lower())

    def test_after_delete_the_granted_initiator_is_refused(self):
        volume = self.create()
        attachment, info = self.attach(volume, HOST_A)
        self.assertLogsIn(info, HOST_A['initiator'])
        self.assertFalse(self.detach(volume, attachment))
        self.assertRefused(info, HOST_A['initiator'])
        self.assertNotIn(info['target_iqn'], self.targets())

    def test_two_hosts_on_multiattach_deleting_one_leaves_the_other(self):
        volume = self.create(multiattach=True)
        first, info_a = self.attach(volume, HOST_A, mbase.INSTANCE_A)
        _second, info_b = self.attach(volume, HOST_B, mbase.INSTANCE_B)
        self.assertEqual(sorted([HOST_A['initiator'], HOST_B['initiator']]),
                         sorted(self.targets()[info_a['target_iqn']]['acl']))
        self.assertFalse(self.detach(volume, first))
        self.assertRefused(info_a, HOST_A['initiator'])
        code, output = qemu_io(info_b, HOST_B['initiator'], 'write -P 0x3c 0 4k',
                               'read -P 0x3c 0 4k')
        self.assertEqual(0, code, output)

    def test_attachments_of_one_host_share_its_connection(self):
        volume = self.create(multiattach=True)
        first, info = self.attach(volume, HOST_A, mbase.INSTANCE_A)
        second, _info = self.attach(volume, HOST_A, mbase.INSTANCE_B)
        self.assertEqual([second.id], self.attachment(first.id).shared_connections())
        self.assertTrue(self.detach(volume, first))
        self.assertLogsIn(info, HOST_A['initiator'])
        self.assertFalse(self.detach(volume, second))
        self.assertRefused(info, HOST_A['initiator'])

    def test_wrong_chap_secret_is_refused(self):
        volume = self.create()
        _attachment, info = self.attach(volume, HOST_A)
        output = self.assertRefused(info, HOST_A['initiator'], password='not-the-secret1')
        self.assertIn('auth', output.lower())
        self.assertLogsIn(info, HOST_A['initiator'])

    def test_each_volume_has_its_own_chap_account(self):
        one = self.create()
        two = self.create()
        _a, info_one = self.attach(one, HOST_A, mbase.INSTANCE_A)
        _b, info_two = self.attach(two, HOST_A, mbase.INSTANCE_B)
        self.assertNotEqual(info_one['auth_username'], info_two['auth_username'])
        # One volume's secret does not open the other.
        self.assertRefused(info_two, HOST_A['initiator'],
                           password=info_one['auth_password'])

    def test_chap_secrets_never_logged(self):
        volume = self.create()
        attachment, info = self.attach(volume, HOST_A)
        self.assertLogsIn(info, HOST_A['initiator'])
        self.detach(volume, attachment)
        secret = info['auth_password']
        logged = self.log.output
        self.assertIn('--password ***', logged)
        self.assertNotIn(secret, logged)
        self.assertNotIn(self.reload(volume).provider_auth, logged)

    def test_invalid_initiator_names_are_refused_before_tgtadm(self):
        volume = self.create()
        attachment = self.reserve(volume)
        for bad in ('--op=delete', 'iqn.2026-01.org.example:a b', 'host1', '',
                    'iqn.2026-01.org.example:' + 'x' * 300):
            exc = self.assertRaises(exception.InvalidConnector,
                                    self.api().attachment_update, self.ctx, volume,
                                    attachment, mbase.connector('h', bad))
            self.assertEqual(400, exc.code)
        self.assertEqual({}, self.targets())

    def test_tgtd_restart_recreates_targets_and_access(self):
        volume = self.create()
        _attachment, info = self.attach(volume, HOST_A)
        self.kill_tgtd()
        self.svc.check_exports()
        self.assertLogsIn(info, HOST_A['initiator'])
        self.assertRefused(info, STRANGER)

    def test_an_export_another_process_removed_is_not_lost(self):
        # Two managers of a cluster on one host share tgtd: a detach served by the other
        # one removes the export this one made, and tgtd lost nothing.
        volume = self.create()
        driver = self.svc.manager.driver
        other = tgt.TgtDriver(self.conf, 'tgt')
        driver.create_export(volume, HOST_A)
        self.assertFalse(driver.exports_lost())
        other.remove_export(volume)
        self.assertFalse(driver.exports_lost())
        other.create_export(volume, HOST_A)
        self.kill_tgtd()
        self.assertTrue(driver.exports_lost())
        # Reported once: the re-creation records again what the database still wants.
        self.assertFalse(driver.exports_lost())

    def test_restart_removes_half_made_exports(self):
        # A manager that died between exporting and recording the connection left a
        # target and an ACL nobody owns.
        volume = self.create()
        attachment = self.reserve(volume)
        driver = self.svc.manager.driver
        driver.create_export(volume, HOST_A)
        info = driver.initialize_connection(volume, HOST_A, attachment.id)['data']
        self.assertLogsIn(info, HOST_A['initiator'])
        self._stop(self.svc)
        self.svc = self.start_manager('tgt')
        self.assertRefused(info, HOST_A['initiator'])
        self.assertEqual({}, self.targets())
        # The reservation is intact and a retry connects.
        attachment = self.attachment(attachment.id)
        self.assertEqual('reserved', attachment.attach_status)
        info = self.api().attachment_update(self.ctx, volume, attachment,
                                            HOST_A).connection_info
        self.assertLogsIn(info, HOST_A['initiator'])

    def test_restart_keeps_live_connections_and_drops_stale_acl(self):
        volume = self.create(multiattach=True)
        _attachment, info = self.attach(volume, HOST_A)
        driver = self.svc.manager.driver
        # Access granted by an update that never recorded its connection.
        driver.initialize_connection(volume, HOST_B, None)
        self._stop(self.svc)
        self.svc = self.start_manager('tgt')
        self.assertLogsIn(info, HOST_A['initiator'])
        self.assertRefused(info, HOST_B['initiator'])
