"""Fencing a host on the tgt driver, with a real initiator (qemu-io's iscsi driver):
once the fence answers, the host can neither log in again nor keep using the session it
had open (tgtd checks its ACL at login only, so the driver also drops the session)."""

import subprocess
import time

from attachd import exception
from attachd.tests.functional.drivers import test_tgt
from attachd.tests.functional.manager import base as mbase
from attachd.volume import clients
from attachd.volume import fencing


class Session:
    """An interactive qemu-io logged in to a target: one iSCSI session kept open."""

    def __init__(self, info, initiator):
        address, port = info['target_portal'].rsplit(':', 1)
        options = ('driver=iscsi,transport=tcp,portal=%s:%s,target=%s,lun=%d,'
                   'initiator-name=%s,user=%s,password-secret=chap'
                   % (address, port, info['target_iqn'], info['target_lun'], initiator,
                      info['auth_username']))
        self.process = subprocess.Popen(
            ['qemu-io', '--object', 'secret,id=chap,data=%s' % info['auth_password'],
             '--image-opts', options],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, bufsize=1)

    def write(self, byte, offset=0):
        """Have the session write 512 bytes of ``byte`` at ``offset`` (qemu-io buffers
        its answers when they go to a pipe: the backing file tells whether it landed)."""
        self.process.stdin.write('write -P %d %d 512\n' % (byte, offset))
        self.process.stdin.flush()

    def close(self):
        self.process.kill()
        self.process.wait()


class TgtFenceTest(test_tgt.TgtTestCase):

    def setUp(self):
        super().setUp()
        # attachd.volume.fencing uses the process's manager client: one of this test's
        # transport.
        clients.reset()
        self.addCleanup(clients.reset)

    def sessions(self, volume, initiator):
        target = self.svc.manager.driver._target(volume)
        if target is None:
            return []
        return self.svc.manager.driver._connections(target['tid'], initiator)

    def block(self, volume, offset):
        with open(self.svc.manager.driver.path(volume), 'rb') as f:
            f.seek(offset)
            return f.read(512)

    def landed(self, volume, byte, timeout, offset=0):
        """True when the volume's block at ``offset`` is all ``byte`` within ``timeout``
        seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.block(volume, offset) == bytes([byte]) * 512:
                return True
            time.sleep(0.1)
        return False

    def test_fence_cuts_the_open_session_and_refuses_new_logins(self):
        volume = self.create()
        attachment, info = self.attach(volume, test_tgt.HOST_A)
        session = Session(info, test_tgt.HOST_A['initiator'])
        self.addCleanup(session.close)
        session.write(0xcd)
        self.assertTrue(self.landed(volume, 0xcd, 10))
        self.assertEqual(1, len(self.sessions(volume, test_tgt.HOST_A['initiator'])))

        fence = fencing.fence(self.ctx, 'compute1')

        self.assertEqual([attachment.id], fence.attachments)
        # The session the host had open is gone, and the host cannot log in again: what
        # it writes now never reaches the volume.
        self.assertEqual([], self.sessions(volume, test_tgt.HOST_A['initiator']))
        session.write(0xab)
        self.assertFalse(self.landed(volume, 0xab, 5))
        self.assertEqual([], self.sessions(volume, test_tgt.HOST_A['initiator']))
        self.assertRefused(info, test_tgt.HOST_A['initiator'])
        self.assertEqual('fenced', self.attachment(attachment.id).attach_status)
        self.assertEqual('available', self.reload(volume).status)

    def test_other_hosts_keep_their_access(self):
        volume = self.create(multiattach=True)
        _fenced, info_a = self.attach(volume, test_tgt.HOST_A)
        _kept, info_b = self.attach(volume, test_tgt.HOST_B, instance=mbase.INSTANCE_B)
        session_a = Session(info_a, test_tgt.HOST_A['initiator'])
        self.addCleanup(session_a.close)
        session_a.write(0x11, offset=512)
        self.assertTrue(self.landed(volume, 0x11, 10, offset=512))
        session_b = Session(info_b, test_tgt.HOST_B['initiator'])
        self.addCleanup(session_b.close)
        session_b.write(0xcd)
        self.assertTrue(self.landed(volume, 0xcd, 10))

        fencing.fence(self.ctx, 'compute1')

        # The target stays (compute2 uses it): the driver unbound compute1 and deleted
        # its connection, which unbinding alone leaves working.
        self.assertEqual([], self.sessions(volume, test_tgt.HOST_A['initiator']))
        session_a.write(0x22, offset=512)
        self.assertFalse(self.landed(volume, 0x22, 5, offset=512))
        self.assertRefused(info_a, test_tgt.HOST_A['initiator'])
        session_b.write(0xef)
        self.assertTrue(self.landed(volume, 0xef, 10))
        self.assertLogsIn(info_b, test_tgt.HOST_B['initiator'])

    def test_no_new_connection_while_fenced_and_after_the_lift(self):
        volume = self.create()
        fencing.fence(self.ctx, 'compute1')
        attachment = self.reserve(volume)
        self.assertRaises(exception.HostFenced, self.api().attachment_update, self.ctx,
                          volume, attachment, test_tgt.HOST_A)
        # Refused before the backend was touched: tgtd has no target for the volume.
        self.assertIsNone(self.svc.manager.driver._target(volume))

        fencing.unfence(self.ctx, 'compute1')
        info = self.api().attachment_update(self.ctx, volume, attachment,
                                            test_tgt.HOST_A).connection_info
        self.assertLogsIn(info, test_tgt.HOST_A['initiator'])
