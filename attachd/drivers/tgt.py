"""The tgt driver: iSCSI targets of Debian's userspace ``tgtd``, driven through ``tgtadm``.

Each volume is a sparse file exported as LUN 1 of its own target, named
``<tgt_iqn_prefix>volume-<id>``. Hosts get in by initiator name (tgtd's ``-Q`` ACL, never
an address ACL) and log in with the volume's CHAP account, whose credentials live in the
volume's ``provider_auth`` (``CHAP <user> <secret>``) and travel in connection_info.

tgtd keeps its targets in memory only. The driver starts tgtd when it is not running, and
reports exports that vanished (:meth:`TgtDriver.exports_lost`) so the manager re-creates
them from the database.

Commands run without a shell, as argument lists; names that reach ``tgtadm`` are checked
first, and CHAP secrets never appear in logs or error messages.
"""

import os
import re
import secrets
import shutil
import string
import subprocess
import threading
import time

from oslo_concurrency import lockutils
from oslo_concurrency import processutils
from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import strutils
from oslo_utils import uuidutils

from attachd import exception
from attachd.drivers import base
from attachd.i18n import _

LOG = logging.getLogger(__name__)

GiB = 1024 ** 3
LUN = 1
VOLUME_PREFIX = 'volume-'
CHAP_SECRET_LENGTH = 16
_REDACTED = '***'

# iSCSI names (RFC 3720 section 3.2.6): iqn.<yyyy-mm>.<reversed domain>[:<anything>],
# eui.<16 hex> or naa.<16 or 32 hex>; at most 223 bytes. The IQN character set is kept to
# what initiators actually generate.
_ISCSI_NAME = re.compile(
    r'^(iqn\.[0-9]{4}-[0-9]{2}\.[A-Za-z0-9][A-Za-z0-9.-]*(:[A-Za-z0-9.:_-]+)?'
    r'|eui\.[0-9A-Fa-f]{16}'
    r'|naa\.[0-9A-Fa-f]{16}([0-9A-Fa-f]{16})?)$')
_MAX_ISCSI_NAME = 223

OPTS = [
    cfg.StrOpt('tgt_iqn_prefix',
               default='iqn.2010-10.org.openstack:',
               help=_('Prefix of the target names; a volume\'s target is '
                      '<prefix>volume-<volume id>. Must be an IQN ending with ":".')),
    cfg.HostAddressOpt('tgt_portal_address',
                       default='127.0.0.1',
                       help=_('Address hosts reach the iSCSI portal on, given to them in '
                              'connection_info, and the one tgtd listens on when attachd '
                              'starts it.')),
    cfg.PortOpt('tgt_portal_port',
                default=3260,
                help=_('Port of the iSCSI portal.')),
    cfg.IntOpt('tgt_control_port',
               default=0,
               min=0,
               help=_('Management channel of tgtd (tgtd/tgtadm --control-port); use another '
                      'value to run a tgtd of attachd\'s own beside the system one.')),
    cfg.StrOpt('tgt_volumes_dir',
               default='$state_path/tgt-volumes',
               help=_('Directory holding the sparse files behind the LUNs.')),
    cfg.BoolOpt('tgt_start_daemon',
                default=True,
                help=_('Start tgtd (on the portal above) when it is not running.')),
    cfg.BoolOpt('tgt_chap',
                default=True,
                help=_('Protect each target with a CHAP account of its own. Without it the '
                       'initiator-name ACL is the only protection.')),
    cfg.IntOpt('tgt_command_timeout',
               default=30,
               min=1,
               help=_('Seconds a tgtadm command may take.')),
]


def valid_iscsi_name(name):
    """True when ``name`` is an iSCSI name safe to hand to tgtadm."""
    return (isinstance(name, str) and len(name.encode()) <= _MAX_ISCSI_NAME and
            _ISCSI_NAME.match(name) is not None)


def parse_targets(text):
    """Parse ``tgtadm --op show --mode target``.

    :returns: ``{iqn: {'tid': int, 'luns': {lun: backing path}, 'accounts': [user],
        'acl': [initiator name or address]}}``.
    """
    targets = {}
    current = None
    section = None
    lun = None
    for raw in text.splitlines():
        line = raw.strip()
        match = re.match(r'^Target (\d+): (\S+)$', raw)
        if match:
            current = {'tid': int(match.group(1)), 'luns': {}, 'accounts': [], 'acl': []}
            targets[match.group(2)] = current
            section = None
            continue
        if current is None or not line:
            continue
        if line.endswith('information:'):
            section = line[:-len(' information:')]
            continue
        if section == 'LUN':
            if line.startswith('LUN: '):
                lun = int(line[len('LUN: '):])
            elif line.startswith('Backing store path: ') and lun is not None:
                current['luns'][lun] = line[len('Backing store path: '):]
        elif section == 'Account':
            current['accounts'].append(line.split()[0])
        elif section == 'ACL':
            current['acl'].append(line)
    return targets


def parse_connections(text):
    """Parse ``tgtadm --op show --mode conn --tid <tid>``.

    :returns: ``[(session id, connection id, initiator name)]``.
    """
    connections = []
    sid = cid = None
    for line in text.splitlines():
        key, _sep, value = line.strip().partition(': ')
        if key == 'Session':
            sid = int(value)
        elif key == 'Connection':
            cid = int(value)
        elif key == 'Initiator' and sid is not None and cid is not None:
            connections.append((sid, cid, value))
    return connections


def parse_accounts(text):
    """Parse ``tgtadm --op show --mode account``: the user names."""
    return [line.strip() for line in text.splitlines()[1:] if line.strip()]


def parse_provider_auth(provider_auth):
    """``(user, secret)`` from ``CHAP <user> <secret>``, or None."""
    if not provider_auth:
        return None
    parts = provider_auth.split()
    if len(parts) != 3 or parts[0] != 'CHAP':
        return None
    return parts[1], parts[2]


class TgtdLock:
    """A reentrant lock over one tgtd, for the threads of this process and the other
    processes of this host (the members of a cluster on one host share its tgtd).

    A thread re-entering keeps the lock; the lock file (``fcntl``, released by the kernel
    when a process dies) is taken by the outermost acquisition only, because POSIX
    record locks are per process and an inner release would drop it.
    """

    def __init__(self, path):
        self._path = path
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._file_lock = None

    def __enter__(self):
        self._thread_lock.acquire()
        if self._depth == 0:
            try:
                lock = lockutils.InterProcessLock(self._path())
                lock.acquire()
            except Exception:
                self._thread_lock.release()
                raise
            self._file_lock = lock
        self._depth += 1
        return self

    def __exit__(self, *exc_info):
        self._depth -= 1
        if self._depth == 0:
            self._file_lock.release()
            self._file_lock = None
        self._thread_lock.release()


class TgtDriver(base.ConnectorDriver):
    """One tgtd target per volume, LUN 1 backed by a sparse file."""

    OPTS = OPTS

    def __init__(self, conf, backend):
        super().__init__(conf, backend)
        # tgtd allocates nothing itself: choosing a free tid and the sequences of commands
        # that build or take down a target must not interleave, between the threads of
        # this process nor with the other managers of a cluster using the same tgtd.
        self._lock = TgtdLock(lambda: os.path.join(
            self.options.tgt_volumes_dir, 'tgtd-%d.lock' % self.options.tgt_control_port))

    # --- the exports made through this tgtd -----------------------------------------------
    #
    # To notice a tgtd that lost its targets (it restarted: it keeps them in memory only),
    # the driver records the volumes it exports, one empty file each under
    # <tgt_volumes_dir>/exported-<tgt_control_port>/, written and removed under the tgtd
    # lock. Files, not a set in this process: the managers of a cluster on one host share
    # tgtd and this directory, and an export one member made and another removed (a detach
    # served by the other) is not lost; a set per process took it for lost, and reconciled
    # on every check.

    def _records_dir(self):
        return os.path.join(self.options.tgt_volumes_dir,
                            'exported-%d' % self.options.tgt_control_port)

    def _record_export(self, volume_id):
        os.makedirs(self._records_dir(), exist_ok=True)
        with open(os.path.join(self._records_dir(), volume_id), 'a'):
            pass

    def _forget_export(self, volume_id):
        try:
            os.unlink(os.path.join(self._records_dir(), volume_id))
        except FileNotFoundError:
            pass

    def _recorded_exports(self):
        try:
            return set(os.listdir(self._records_dir()))
        except FileNotFoundError:
            return set()

    # --- tgtadm ---------------------------------------------------------------------------

    def _tgtadm(self, *args, secret=None):
        """Run tgtadm with ``args`` and return its output.

        oslo.concurrency logs the command and its output with passwords masked
        (``--password <secret>``); ``secret`` is also taken out of tgtadm's own messages.
        """
        cmd = ['tgtadm', '--control-port', str(self.options.tgt_control_port),
               '--lld', 'iscsi'] + [str(a) for a in args]
        shown = strutils.mask_password(' '.join(cmd))
        try:
            # An argument list and no shell; every name in it was validated.
            stdout, _stderr = processutils.execute(
                *cmd, timeout=self.options.tgt_command_timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise exception.DriverError(reason=_('%(cmd)s failed: %(exc)s')
                                        % {'cmd': shown, 'exc': type(exc).__name__})
        except processutils.ProcessExecutionError as exc:
            error = (exc.stderr or exc.stdout or '').strip()
            if secret:
                error = error.replace(secret, _REDACTED)
            raise exception.DriverError(reason=_('%(cmd)s failed (%(rc)s): %(err)s')
                                        % {'cmd': shown, 'rc': exc.exit_code,
                                           'err': error})
        return stdout

    def _daemon_running(self):
        try:
            self._tgtadm('--op', 'show', '--mode', 'system')
        except exception.DriverError:
            return False
        return True

    def _pid_file(self):
        return os.path.join(self.options.tgt_volumes_dir,
                            'tgtd-%d.pid' % self.options.tgt_control_port)

    def _ensure_daemon(self):
        """Start tgtd when it does not answer (and we may); wait until it does."""
        if self._daemon_running():
            return
        if not self.options.tgt_start_daemon:
            raise exception.DriverError(reason=_('tgtd is not running (control port %d)')
                                        % self.options.tgt_control_port)
        portal = '%s:%d' % (self.options.tgt_portal_address, self.options.tgt_portal_port)
        LOG.info('Starting tgtd on portal %s, control port %d', portal,
                 self.options.tgt_control_port)
        # tgtd daemonizes itself; it outlives the manager, as a system tgtd would.
        cmd = ['tgtd', '--control-port', str(self.options.tgt_control_port),
               '--iscsi', 'portal=%s' % portal, '--pid-file', self._pid_file()]
        try:
            processutils.execute(*cmd, timeout=30)
        except (OSError, subprocess.SubprocessError,
                processutils.ProcessExecutionError) as exc:
            raise exception.DriverError(reason=_('starting tgtd failed: %s') % exc)
        deadline = time.monotonic() + 10
        while not self._daemon_running():
            if time.monotonic() > deadline:
                raise exception.DriverError(reason=_('tgtd did not start'))
            time.sleep(0.05)

    def _targets(self):
        return parse_targets(self._tgtadm('--op', 'show', '--mode', 'target'))

    # --- names ----------------------------------------------------------------------------

    def _volume_id(self, volume):
        if not uuidutils.is_uuid_like(volume.id):
            raise exception.InvalidVolume(reason=_('volume id %s is not a UUID') % volume.id)
        return volume.id

    def iqn(self, volume):
        return '%s%s%s' % (self.options.tgt_iqn_prefix, VOLUME_PREFIX,
                           self._volume_id(volume))

    def path(self, volume):
        return os.path.join(self.options.tgt_volumes_dir,
                            '%s%s' % (VOLUME_PREFIX, self._volume_id(volume)))

    @property
    def portal(self):
        return '%s:%d' % (self.options.tgt_portal_address, self.options.tgt_portal_port)

    # --- driver interface -----------------------------------------------------------------

    def do_setup(self):
        prefix = self.options.tgt_iqn_prefix
        if not (prefix.endswith(':') and valid_iscsi_name(prefix + 'x')):
            raise exception.ConfigInvalid(reason=_('tgt_iqn_prefix %s is not an IQN ending '
                                                   'with ":"') % prefix)
        os.makedirs(self.options.tgt_volumes_dir, exist_ok=True)
        for tool in ('tgtadm', 'tgtd'):
            if shutil.which(tool) is None:
                raise exception.DriverError(reason=_('%s is not installed (Debian package '
                                                     'tgt)') % tool)
        with self._lock:
            self._ensure_daemon()

    def capabilities(self):
        usage = shutil.disk_usage(self.options.tgt_volumes_dir)
        return base.Capabilities(protocol='iSCSI', shared_targets=False, multiattach=True,
                                 free_capacity_gb=usage.free // GiB,
                                 total_capacity_gb=usage.total // GiB)

    def validate_connector(self, connector):
        initiator = connector.get('initiator')
        if not initiator:
            raise exception.InvalidConnector(reason=_('the tgt backend needs the host\'s '
                                                      'iSCSI "initiator" name'))
        if not valid_iscsi_name(initiator):
            raise exception.InvalidConnector(reason=_('"initiator" is not a valid iSCSI '
                                                      'name'))

    def _new_chap(self):
        alphabet = string.ascii_letters + string.digits
        user = 'attachd-' + ''.join(secrets.choice(alphabet) for _i in range(12))
        secret = ''.join(secrets.choice(alphabet) for _i in range(CHAP_SECRET_LENGTH))
        return 'CHAP %s %s' % (user, secret)

    def create_volume(self, volume):
        path = self.path(volume)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise exception.DriverError(reason=_('backing file of volume %s already '
                                                 'exists') % volume.id)
        try:
            os.ftruncate(fd, volume.size * GiB)
        finally:
            os.close(fd)
        update = {'provider_location': '%s,%d %s %d' % (self.portal, 1, self.iqn(volume),
                                                        LUN)}
        if self.options.tgt_chap:
            update['provider_auth'] = self._new_chap()
        return update

    def delete_volume(self, volume):
        self.remove_export(volume)
        try:
            os.unlink(self.path(volume))
        except FileNotFoundError:
            pass

    def create_export(self, volume, connector):
        """Create the volume's target (and CHAP account) unless tgtd has it already."""
        iqn = self.iqn(volume)
        path = self.path(volume)
        if not os.path.exists(path):
            raise exception.ExportFailure(volume_id=volume.id,
                                          reason=_('its backing file is missing'))
        update = {}
        chap = parse_provider_auth(volume.provider_auth)
        if self.options.tgt_chap and chap is None:
            update['provider_auth'] = self._new_chap()
            chap = parse_provider_auth(update['provider_auth'])
        with self._lock:
            # Recorded first: a re-creation that fails is retried at the next check.
            self._record_export(volume.id)
            self._ensure_daemon()
            targets = self._targets()
            target = targets.get(iqn)
            if target is None:
                tid = max([t['tid'] for t in targets.values()] + [0]) + 1
                self._tgtadm('--op', 'new', '--mode', 'target', '--tid', tid,
                             '--targetname', iqn)
                target = {'tid': tid, 'luns': {}, 'accounts': [], 'acl': []}
                LOG.info('Created target %s (tid %d) for volume %s', iqn, tid, volume.id)
            tid = target['tid']
            if LUN not in target['luns']:
                self._tgtadm('--op', 'new', '--mode', 'logicalunit', '--tid', tid,
                             '--lun', LUN, '--backing-store', path)
            if chap is not None and chap[0] not in target['accounts']:
                self._ensure_account(*chap)
                self._tgtadm('--op', 'bind', '--mode', 'account', '--tid', tid,
                             '--user', chap[0])
        update['provider_location'] = '%s,%d %s %d' % (self.portal, tid, iqn, LUN)
        return update

    def _ensure_account(self, user, secret):
        accounts = parse_accounts(self._tgtadm('--op', 'show', '--mode', 'account'))
        if user in accounts:
            # Recreate it: the secret tgtd holds may be an older one of this user.
            self._tgtadm('--op', 'delete', '--mode', 'account', '--user', user)
        self._tgtadm('--op', 'new', '--mode', 'account', '--user', user,
                     '--password', secret, secret=secret)

    def _target(self, volume):
        return self._targets().get(self.iqn(volume))

    def initialize_connection(self, volume, connector, attachment_id):
        initiator = connector['initiator']
        with self._lock:
            target = self._target(volume)
            if target is None:
                raise exception.ConnectionFailure(volume_id=volume.id,
                                                  reason=_('its target is not exported'))
            if initiator not in target['acl']:
                self._tgtadm('--op', 'bind', '--mode', 'target', '--tid', target['tid'],
                             '--initiator-name', initiator)
                LOG.info('Granted %s access to volume %s', initiator, volume.id)
        data = {
            'target_discovered': False,
            'target_portal': self.portal,
            'target_iqn': self.iqn(volume),
            'target_lun': LUN,
            'volume_id': volume.id,
        }
        chap = parse_provider_auth(volume.provider_auth)
        if self.options.tgt_chap and chap is not None:
            data.update(auth_method='CHAP', auth_username=chap[0], auth_password=chap[1])
        return {'driver_volume_type': 'iscsi', 'data': data}

    def terminate_connection(self, volume, connector, remaining_connectors):
        initiator = connector.get('initiator')
        if any(self.shares_connection(connector, other) for other in remaining_connectors):
            return True
        if not initiator:
            return False
        with self._lock:
            target = self._target(volume)
            if target is not None and initiator in target['acl']:
                self._unbind(target['tid'], initiator)
                LOG.info('Revoked the access of %s to volume %s', initiator, volume.id)
        return False

    def fence_connection(self, volume, connector, remaining_connectors):
        """Unbind the initiator and drop its sessions: tgtd checks the ACL at login
        only, so a session opened before the unbind keeps reading and writing (measured
        with qemu-io); once its connection is deleted, the initiator's attempts to log in
        again are refused."""
        initiator = connector.get('initiator')
        if not initiator or any(self.shares_connection(connector, other)
                                for other in remaining_connectors):
            return
        with self._lock:
            target = self._target(volume)
            if target is None:
                return
            if initiator in target['acl']:
                self._unbind(target['tid'], initiator)
            for sid, cid in self._connections(target['tid'], initiator):
                try:
                    self._tgtadm('--op', 'delete', '--mode', 'conn', '--tid', target['tid'],
                                 '--sid', sid, '--cid', cid)
                except exception.DriverError as exc:
                    # The session may end by itself between show and delete; one that
                    # did not is seen by the check below.
                    LOG.info('Dropping session %s of %s: %s', sid, initiator, exc)
            left = self._connections(target['tid'], initiator)
            if left:
                raise exception.DriverError(reason=_(
                    'sessions %(sessions)s of %(initiator)s on volume %(volume)s could not '
                    'be dropped') % {'sessions': ', '.join(str(sid) for sid, _cid in left),
                                     'initiator': initiator, 'volume': volume.id})
            LOG.warning('Fenced %s off volume %s', initiator, volume.id)

    def _connections(self, tid, initiator):
        """``(session id, connection id)`` of ``initiator``'s connections to target
        ``tid``."""
        return [(sid, cid) for sid, cid, name in parse_connections(
            self._tgtadm('--op', 'show', '--mode', 'conn', '--tid', tid))
            if name == initiator]

    def _unbind(self, tid, initiator):
        self._tgtadm('--op', 'unbind', '--mode', 'target', '--tid', tid,
                     '--initiator-name', initiator)

    def remove_export(self, volume):
        with self._lock:
            self._forget_export(volume.id)
            if not self._daemon_running():
                return
            target = self._target(volume)
            if target is None:
                return
            self._tgtadm('--op', 'delete', '--force', '--mode', 'target',
                         '--tid', target['tid'])
            accounts = parse_accounts(
                self._tgtadm('--op', 'show', '--mode', 'account'))
            for user in target['accounts']:
                if user in accounts:
                    self._tgtadm('--op', 'delete', '--mode', 'account', '--user', user)
            LOG.info('Removed target %s of volume %s', self.iqn(volume), volume.id)

    def ensure_export(self, volume, connectors):
        """Re-create the target and make its ACL exactly the initiators of
        ``connectors``: access granted by an update that never completed goes."""
        self.create_export(volume, None)
        wanted = {c['initiator'] for c in connectors if c.get('initiator')}
        with self._lock:
            target = self._target(volume)
            for initiator in sorted(wanted - set(target['acl'])):
                if valid_iscsi_name(initiator):
                    self._tgtadm('--op', 'bind', '--mode', 'target', '--tid',
                                 target['tid'], '--initiator-name', initiator)
            for initiator in sorted(set(target['acl']) - wanted):
                self._unbind(target['tid'], initiator)

    def list_exports(self):
        prefix = self.options.tgt_iqn_prefix + VOLUME_PREFIX
        with self._lock:
            self._ensure_daemon()
            return sorted(iqn[len(prefix):] for iqn in self._targets()
                          if iqn.startswith(prefix))

    def exports_lost(self):
        """True when tgtd lost recorded targets (it restarted): the manager then re-creates
        the exports from the database. Starts tgtd if it is down.

        The lost ones are forgotten: the re-creation records again those the database
        still wants, and one no attachment owns any more is not reported at every check.
        """
        with self._lock:
            recorded = self._recorded_exports()
            if not recorded:
                return False
            lost = recorded - set(self.list_exports())
            for volume_id in lost:
                self._forget_export(volume_id)
            return bool(lost)
