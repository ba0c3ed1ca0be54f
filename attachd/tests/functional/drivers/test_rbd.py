"""The rbd driver against a real single-node Ceph (attachd.tests.functional.ceph), through
a manager as the API drives it. Hosts are real clients: os-brick's RBD connector (librbd in
this process, ``do_local_attach=False``) and qemu-io's rbd driver, each given only what
connection_info holds.

One cluster serves each test class (about 5 s to start); each test uses volumes of its own.
attachd connects as ``client.attachd`` with exactly the capabilities the configuration
guide documents (:data:`ceph.ATTACHD_CAPS`).
"""

import os
import struct
import subprocess
import tempfile
import threading
import uuid

import fixtures
from os_brick.initiator.connectors import rbd as brick_rbd

from attachd import exception
from attachd.conf import backend as backend_conf
from attachd.drivers import rbd
from attachd.tests import base
from attachd.tests.functional import ceph
from attachd.tests.functional.manager import base as mbase
from attachd.volume import clients
from attachd.volume import fencing

try:
    import rados
    import rbd as librbd
except ImportError:
    rados = librbd = None

HOST_A = {'host': 'compute1', 'ip': '127.0.0.1', 'platform': 'x86_64', 'os_type': 'linux',
          'multipath': False, 'do_local_attach': False}
HOST_B = dict(HOST_A, host='compute2')
PATTERN = b'attachd-rbd\n' * 341


class CephTestCase(mbase.ManagerTestMixin, base.DbTestCase):
    """A manager on an ``rbd`` backend over the class's cluster."""

    backend = 'rbd'
    cluster = None
    #: Extra options of the backend group.
    backend_options = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not ceph.ceph_usable():
            return
        cls.cluster = ceph.PrivateCeph()
        cls.cluster.setUp()
        cls.attachd_keyring = cls.cluster.attachd_user()

    @classmethod
    def tearDownClass(cls):
        if cls.cluster is not None:
            cls.cluster.cleanUp()
            cls.cluster = None
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        base.need_service(self, 'a Ceph cluster (root, Debian packages ceph-mon, ceph-osd, '
                          'ceph-common, python3-rados, python3-rbd)', self.cluster)
        backend_conf.register_backend_opts(self.conf, 'rbd')
        self.conf.register_opts(rbd.OPTS, group='rbd')
        self.flags(group='rbd', rbd_ceph_conf=self.cluster.conf, rbd_user='attachd',
                   rbd_keyring_conf=self.attachd_keyring, **self.backend_options)
        self.svc = self.start_manager('rbd')
        self.workdir = self.useFixture(fixtures.TempDir()).path

    @property
    def driver(self):
        return self.svc.manager.driver

    def images(self):
        cluster = self.cluster.admin_rados()
        try:
            with cluster.open_ioctx(ceph.POOL) as ioctx:
                return librbd.RBD().list(ioctx)
        finally:
            cluster.shutdown()

    # --- hosts ----------------------------------------------------------------------------

    def brick_handle(self, info):
        """os-brick's RBD connector on ``info`` (no local attach): a file-like handle."""
        connector = brick_rbd.RBDConnector('env', do_local_attach=False)
        handle = connector.connect_volume(info)['path']
        self.addCleanup(self._close_quietly, handle)
        return handle

    @staticmethod
    def _close_quietly(handle):
        try:
            handle.close()
        except Exception:
            # A handle whose session was cut cannot flush.
            pass

    def qemu_io(self, info, *commands, image=None):
        """qemu-io on the image of ``info`` with only what it holds: monitors and keyring
        written into a ceph.conf, as os-brick does. Returns (exit code, output)."""
        fd, conf = tempfile.mkstemp(dir=self.workdir, suffix='.conf')
        with os.fdopen(fd, 'w') as f:
            # A host whose key was removed would retry for client_mount_timeout (5 min).
            f.write('[global]\nmon_host = %s\nclient_mount_timeout = 3\n%s\n' % (
                ','.join('%s:%s' % hp for hp in zip(info['hosts'], info['ports'], strict=True)),
                info.get('keyring', '')))
        name = image or info['name']
        args = ['qemu-io', '-f', 'raw',
                'rbd:%s:id=%s:conf=%s' % (name, info['auth_username'], conf)]
        for command in commands:
            args += ['-c', command]
        result = subprocess.run(args, capture_output=True, text=True, timeout=120)
        return result.returncode, result.stdout + result.stderr

    def assertOpens(self, info, image=None):
        code, output = self.qemu_io(info, 'read 0 512', image=image)
        self.assertEqual(0, code, output)

    def assertRefused(self, info, image=None):
        code, output = self.qemu_io(info, 'read 0 512', image=image)
        self.assertNotEqual(0, code, output)
        return output


class RbdDriverTest(CephTestCase):

    def test_volume_create_and_delete_make_and_remove_the_image(self):
        volume = self.create()
        self.assertIn('volume-%s' % volume.id, self.images())
        self.assertEqual('rbd/volume-%s' % volume.id, volume.provider_location)
        volume.conditional_update({'status': mbase.VolumeStatus.DELETING},
                                  {'status': mbase.VolumeStatus.AVAILABLE})
        self.api().delete_volume(self.ctx, volume)
        mbase.wait_for(lambda: 'volume-%s' % volume.id not in self.images())

    def test_connection_info_is_cinder_s_rbd_one(self):
        volume = self.create()
        _attachment, info = self.attach(volume, HOST_A)
        self.assertEqual('rbd', info['driver_volume_type'])
        self.assertEqual('rbd/volume-%s' % volume.id, info['name'])
        self.assertEqual(['127.0.0.1'], info['hosts'])
        self.assertEqual([str(self.cluster.v1)], info['ports'])
        self.assertEqual('ceph', info['cluster_name'])
        self.assertIs(True, info['auth_enabled'])
        self.assertEqual('ceph', info['secret_type'])
        self.assertIsNone(info['secret_uuid'])
        self.assertEqual(volume.id, info['volume_id'])
        self.assertIs(True, info['discard'])
        self.assertEqual('rw', info['access_mode'])
        # Its own identity, not attachd's.
        self.assertTrue(info['auth_username'].startswith('attachd-%s-' % volume.id))
        self.assertIn('[client.%s]' % info['auth_username'], info['keyring'])

    def test_capabilities(self):
        caps = self.driver.capabilities()
        self.assertEqual(('ceph', False, True), (caps['protocol'], caps['shared_targets'],
                                                 caps['multiattach']))

    def test_os_brick_reads_and_writes_through_connection_info(self):
        volume = self.create()
        _attachment, info = self.attach(volume, HOST_A)
        handle = self.brick_handle(info)
        try:
            handle.seek(1 << 20)
            handle.write(PATTERN)
            handle.flush()
            handle.seek(1 << 20)
            self.assertEqual(PATTERN, handle.read(len(PATTERN)))
        finally:
            handle.close()
        # Another client (qemu-io) sees what os-brick wrote.
        code, output = self.qemu_io(info, 'read -P 0x61 %d 1' % (1 << 20))
        self.assertEqual(0, code, output)
        self.assertNotIn('verification failed', output)

    def test_qemu_io_reads_and_writes_through_connection_info(self):
        volume = self.create()
        _attachment, info = self.attach(volume, HOST_A)
        code, output = self.qemu_io(info, 'write -P 0xa5 65536 4k', 'read -P 0xa5 65536 4k')
        self.assertEqual(0, code, output)
        self.assertNotIn('verification failed', output)

    def test_identity_reaches_only_its_volume(self):
        mine = self.create()
        other = self.create()
        _attachment, info = self.attach(mine, HOST_A)
        self.assertOpens(info)
        output = self.assertRefused(info, image='rbd/volume-%s' % other.id)
        self.assertIn('not permitted', output)

    def test_after_delete_the_host_is_refused_and_its_open_session_cut(self):
        volume = self.create()
        attachment, info = self.attach(volume, HOST_A)
        self.assertOpens(info)
        # A guest keeps the image open across the detach (a host that ignores it).
        handle = self.brick_handle(info)
        handle.write(b'before')
        handle.flush()
        self.assertFalse(self.detach(volume, attachment))
        self.assertRefused(info)
        handle.seek(0)
        # The blocklisted session fails at once (ESHUTDOWN), it does not hang.
        self.assertRaises(librbd.ConnectionShutdown, handle.write, b'after')
        entity = 'client.' + info['auth_username']
        self.assertNotIn(entity, self.cluster.ceph('auth', 'ls'))
        self.assertIn('127.0.0.1:0/', self.cluster.ceph('osd', 'blocklist', 'ls'))

    def test_two_hosts_on_multiattach_deleting_one_leaves_the_other(self):
        volume = self.create(multiattach=True)
        first, info_a = self.attach(volume, HOST_A, mbase.INSTANCE_A)
        _second, info_b = self.attach(volume, HOST_B, mbase.INSTANCE_B)
        self.assertNotEqual(info_a['auth_username'], info_b['auth_username'])
        # Both write at once: the image of a multiattach volume has no exclusive lock.
        handle_a = self.brick_handle(info_a)
        code, output = self.qemu_io(info_b, 'write -P 0x3c 0 4k')
        self.assertEqual(0, code, output)
        handle_a.seek(8192)
        handle_a.write(b'a' * 4096)
        handle_a.flush()
        self.assertFalse(self.detach(volume, first))
        self.assertRefused(info_a)
        code, output = self.qemu_io(info_b, 'read -P 0x3c 0 4k', 'read -P 0x61 8192 4k')
        self.assertEqual(0, code, output)
        self.assertNotIn('verification failed', output)

    def test_attachments_of_one_host_share_its_connection(self):
        volume = self.create(multiattach=True)
        first, info = self.attach(volume, HOST_A, mbase.INSTANCE_A)
        second, info_second = self.attach(volume, HOST_A, mbase.INSTANCE_B)
        self.assertEqual(info['auth_username'], info_second['auth_username'])
        self.assertEqual([second.id], self.attachment(first.id).shared_connections())
        self.assertTrue(self.detach(volume, first))
        self.assertOpens(info)
        self.assertFalse(self.detach(volume, second))
        self.assertRefused(info)

    def test_deleting_an_attached_volume_revokes_its_identities(self):
        volume = self.create()
        _attachment, info = self.attach(volume, HOST_A)
        self.driver.delete_volume(volume)
        self.assertNotIn('volume-%s' % volume.id, self.images())
        self.assertNotIn('client.' + info['auth_username'], self.cluster.ceph('auth', 'ls'))

    def test_connector_without_host_is_refused(self):
        volume = self.create()
        attachment = self.reserve(volume)
        exc = self.assertRaises(exception.InvalidConnector, self.api().attachment_update,
                                self.ctx, volume, attachment, {'ip': '127.0.0.1'})
        self.assertEqual(400, exc.code)

    def test_restart_revokes_identities_no_attachment_owns(self):
        # A manager that died between granting and recording the connection left an
        # identity nobody owns.
        volume = self.create()
        attachment = self.reserve(volume)
        info = self.driver.initialize_connection(volume, HOST_A, attachment.id)['data']
        self.assertOpens(info)
        self._stop(self.svc)
        self.svc = self.start_manager('rbd')
        self.assertRefused(info)
        self.assertEqual([], self.driver.list_exports())
        # The reservation is intact and a retry connects.
        attachment = self.attachment(attachment.id)
        self.assertEqual('reserved', attachment.attach_status)
        info = self.api().attachment_update(self.ctx, volume, attachment,
                                            HOST_A).connection_info
        self.assertOpens(info)

    def test_restart_keeps_live_connections_and_drops_stale_ones(self):
        volume = self.create(multiattach=True)
        _attachment, info_a = self.attach(volume, HOST_A)
        info_b = self.driver.initialize_connection(volume, HOST_B, None)['data']
        self._stop(self.svc)
        self.svc = self.start_manager('rbd')
        self.assertOpens(info_a)
        self.assertRefused(info_b)
        self.assertEqual([volume.id], self.driver.list_exports())

    def test_restart_grants_a_live_connection_whose_identity_went_missing(self):
        volume = self.create()
        _attachment, info = self.attach(volume, HOST_A)
        entity = 'client.' + info['auth_username']
        self.cluster.ceph('auth', 'rm', entity)
        self._stop(self.svc)
        self.svc = self.start_manager('rbd')
        self.assertIn(entity, self.cluster.ceph('auth', 'ls'))

    def _image_id(self, volume):
        with self.driver._ioctx() as ioctx:
            with self.driver._open(ioctx, volume, read_only=True) as image:
                return image.id()

    def _fake_directory_entry(self, name, image_id):
        """An image in the pool's directory, as ``rbd ls`` and list2 see it (no objects):
        Ceph picks image ids itself, so a clash has to be written by hand."""
        def encoded(text):
            return struct.pack('<I', len(text)) + text.encode()
        cluster = self.cluster.admin_rados()
        self.addCleanup(cluster.shutdown)
        ioctx = cluster.open_ioctx(ceph.POOL)
        self.addCleanup(ioctx.close)
        keys = ('name_' + name, 'id_' + image_id)

        def write(op_keys, values=None):
            with rados.WriteOpCtx() as op:
                if values is None:
                    ioctx.remove_omap_keys(op, op_keys)
                else:
                    ioctx.set_omap(op, op_keys, values)
                ioctx.operate_write_op(op, 'rbd_directory')
        write(keys, (encoded(image_id), encoded(name)))
        self.addCleanup(write, keys)

    def test_images_whose_ids_clash_get_no_access(self):
        # Capabilities match object names by prefix: an identity for an image whose id
        # is a prefix of another's would reach that one's header.
        volume = self.create()
        clashing = 'volume-%s' % uuid.uuid4()
        self._fake_directory_entry(clashing, self._image_id(volume) + '0')
        self._stop(self.svc)
        self.svc = self.start_manager('rbd')
        attachment = self.reserve(volume)
        exc = self.assertRaises(exception.DriverError, self.api().attachment_update,
                                self.ctx, volume, attachment, HOST_A)
        self.assertIn('clashes', str(exc))
        # Found once, at start: a volume without a clash is granted as before.
        self.attach(self.create(), HOST_A)

    def test_an_image_whose_id_clashes_is_made_again(self):
        made = []
        original = self.driver._id_clash

        def first_clashes(ioctx, name):
            made.append(self.cluster_image_id(ioctx, name))
            return 'volume-other' if len(made) == 1 else original(ioctx, name)
        self.useFixture(fixtures.MockPatchObject(self.driver, '_id_clash', first_clashes))
        volume = self.create()
        self.assertEqual(2, len(made))
        self.assertNotEqual(made[0], made[1])
        self.assertEqual(made[1], self._image_id(volume))
        self.attach(volume, HOST_A)

    @staticmethod
    def cluster_image_id(ioctx, name):
        with librbd.Image(ioctx, name, read_only=True) as image:
            return image.id()

    def test_clashing_ids(self):
        clashing = self.driver._clashing
        self.assertTrue(clashing('abc', 'abcd'))
        self.assertTrue(clashing('abcd', 'abc'))
        self.assertFalse(clashing('abc', 'abc'))
        self.assertFalse(clashing('abc', 'abd'))

    def test_reconciling_a_volume_whose_image_went_missing_fails_clearly(self):
        volume = self.create()
        self.attach(volume, HOST_A)
        cluster = self.cluster.admin_rados()
        self.addCleanup(cluster.shutdown)
        with cluster.open_ioctx(ceph.POOL) as ioctx:
            librbd.RBD().remove(ioctx, 'volume-%s' % volume.id)
        exc = self.assertRaises(exception.ExportFailure, self.driver.ensure_export,
                                volume, [HOST_A])
        self.assertIn('its image is missing', str(exc))

    def test_concurrent_updates_of_many_volumes(self):
        volumes = [self.create() for _i in range(4)]
        infos = {}

        def attach(volume):
            infos[volume.id] = self.attach(volume, HOST_A)[1]

        threads = [threading.Thread(target=attach, args=(v,)) for v in volumes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        self.assertEqual(len(volumes), len(infos))
        for info in infos.values():
            self.assertOpens(info)


class RbdCinderModeTest(CephTestCase):
    """``rbd_connection_identities = false``: hosts use rbd_user, as with Cinder."""

    backend_options = {'rbd_connection_identities': False,
                       'rbd_secret_uuid': str(uuid.UUID(int=7))}

    def test_connection_info_names_rbd_user_and_the_secret_without_keyring(self):
        volume = self.create()
        attachment, info = self.attach(volume, HOST_A)
        self.assertEqual('attachd', info['auth_username'])
        self.assertEqual(str(uuid.UUID(int=7)), info['secret_uuid'])
        self.assertNotIn('keyring', info)
        self.assertFalse(self.detach(volume, attachment))
        self.assertEqual([], self.driver.list_exports())

    def test_keyring_sent_when_configured(self):
        self.flags(group='rbd', rbd_send_keyring=True)
        volume = self.create()
        _attachment, info = self.attach(volume, HOST_A)
        with open(self.attachd_keyring) as f:
            self.assertEqual(f.read(), info['keyring'])
        handle = self.brick_handle(info)
        handle.write(PATTERN)



class RbdFenceTest(CephTestCase):
    """Fencing a host on the rbd driver: its identity goes and its open sessions are cut,
    even those of its attachments that share the connection; other hosts keep theirs."""

    def setUp(self):
        super().setUp()
        # attachd.volume.fencing uses the process's manager client: one of this test's
        # transport.
        clients.reset()
        self.addCleanup(clients.reset)

    def test_fence_cuts_the_host_and_keeps_the_others(self):
        volume = self.create(multiattach=True)
        first, info_a = self.attach(volume, HOST_A, mbase.INSTANCE_A)
        second, _shared = self.attach(volume, HOST_A, mbase.INSTANCE_B)
        _kept, info_b = self.attach(volume, HOST_B, '00000000-0000-0000-0000-00000000000c')
        handle = self.brick_handle(info_a)
        handle.write(b'before')
        handle.flush()

        fence = fencing.fence(self.ctx, HOST_A['host'])

        self.assertEqual(sorted([first.id, second.id]), sorted(fence.attachments))
        handle.seek(0)
        self.assertRaises(librbd.ConnectionShutdown, handle.write, b'after')
        self.assertRefused(info_a)
        self.assertNotIn('client.' + info_a['auth_username'],
                         self.cluster.ceph('auth', 'ls'))
        self.assertOpens(info_b)
        self.assertEqual(['fenced', 'fenced'],
                         [self.attachment(a.id).attach_status for a in (first, second)])
        # No new connection for the fenced host while the fence stands.
        attachment = self.reserve(volume, '00000000-0000-0000-0000-00000000000d')
        self.assertRaises(exception.HostFenced, self.api().attachment_update,
                          self.ctx, volume, attachment, HOST_A)
