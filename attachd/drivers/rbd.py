"""The rbd driver: volumes are RBD images in a Ceph pool, reached by hosts over librbd.

Each volume is the image ``volume-<id>`` of ``rbd_pool``. connection_info is Cinder's RBD
one (``driver_volume_type: rbd``), which Nova's libvirt driver and os-brick's RBD connector
consume. RBD has no per-host export: a host that holds a key with access to the pool reaches
every image in it. So by default (``rbd_connection_identities``) the driver goes further
than Cinder:

* every host connection to a volume gets a cephx identity of its own,
  ``client.attachd-<volume id>-<digest of the host>``, whose OSD capabilities name only that
  volume's image objects; its keyring travels in connection_info (``keyring``), as os-brick
  reads it;
* revoking that connection removes the identity (``auth rm``: no new session can
  authenticate) and then blocklists the addresses of the sessions it still has open
  (``osd blocklist add``): a removed key does not close sessions already authenticated, and
  their OSD tickets stay valid until they expire (``auth_service_ticket_ttl``, an hour by
  default). A blocklisted client's pending and later operations fail at once.

The identities a volume holds are recorded in its image's metadata (keys
``attachd.identity.<entity>``) before they are created and forgotten after they are
removed, so the manager's start-up reconciliation finds identities no live attachment owns
(:meth:`RbdDriver.list_exports`) without listing every cephx key of the cluster.

With ``rbd_connection_identities = false`` the driver behaves as Cinder's: hosts use
``rbd_user`` (Nova: the libvirt secret ``rbd_secret_uuid``), and the keyring of
``rbd_keyring_conf`` goes to hosts only when ``rbd_send_keyring`` says so (OSSN-0085).

The ``rados`` and ``rbd`` Python bindings come from Debian's python3-rados and python3-rbd
(``tools/ceph-bindings.py`` makes them importable in a virtualenv); they are imported when a
backend uses this driver, so attachd runs without them otherwise.
"""

import hashlib
import json
import threading

from oslo_config import cfg
from oslo_log import log as logging
from oslo_utils import importutils
from oslo_utils import uuidutils

from attachd import exception
from attachd.drivers import base
from attachd.i18n import _

LOG = logging.getLogger(__name__)

GiB = 1024 ** 3
VOLUME_PREFIX = 'volume-'
IDENTITY_PREFIX = 'attachd-'
IDENTITY_METADATA = 'attachd.identity.'
# How often create_volume makes an image again whose id clashes with another's.
ID_ATTEMPTS = 5

OPTS = [
    cfg.StrOpt('rbd_pool',
               default='rbd',
               help=_('The RADOS pool holding the volumes\' images.')),
    cfg.StrOpt('rbd_ceph_conf',
               default='',
               help=_('Path of the ceph.conf of the cluster; empty: librados\'s default '
                      '(/etc/ceph/<cluster>.conf).')),
    cfg.StrOpt('rbd_user',
               help=_('The cephx user attachd connects as (without "client."); empty: '
                      'librados\'s default, admin. With rbd_connection_identities off it '
                      'is also the user hosts connect as (auth_username).')),
    cfg.StrOpt('rbd_keyring_conf',
               default='',
               help=_('Path of the keyring of rbd_user; empty: librados looks for it where '
                      'ceph.conf says.')),
    cfg.StrOpt('rbd_cluster_name',
               default='ceph',
               help=_('Name of the Ceph cluster (cluster_name in connection_info).')),
    cfg.StrOpt('rbd_secret_uuid',
               help=_('UUID of the libvirt secret holding the key hosts authenticate with '
                      '(secret_uuid in connection_info; Nova\'s libvirt driver uses it).')),
    cfg.BoolOpt('rbd_connection_identities',
                default=True,
                help=_('Give every host connection its own cephx identity, limited to the '
                       'volume\'s image, sent to the host as a keyring in connection_info '
                       'and revoked (key removed, open sessions blocklisted) when the '
                       'connection ends. Hosts must connect with that keyring (os-brick\'s '
                       'RBD connector does; Nova\'s libvirt driver does not: it uses its '
                       'own rbd_user and libvirt secret, so turn this off for it).')),
    cfg.BoolOpt('rbd_send_keyring',
                default=False,
                help=_('Without connection identities: send the keyring of rbd_keyring_conf '
                       'to hosts in connection_info. Off by default (OSSN-0085): every host '
                       'would get rbd_user\'s key.')),
    cfg.IntOpt('rbd_blocklist_seconds',
               default=7200,
               min=60,
               help=_('How long the sessions of a revoked identity stay blocklisted. Keep '
                      'it longer than the cluster\'s auth_service_ticket_ttl (1 hour by '
                      'default), after which their tickets are no longer valid.')),
    cfg.IntOpt('rados_connect_timeout',
               default=30,
               min=1,
               help=_('Seconds to wait for the cluster when connecting, and for each '
                      'monitor and OSD operation.')),
]


def identity_name(volume_id, connector):
    """The cephx entity of the connection of ``connector``'s host to the volume."""
    key = base.connection_key(connector)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return 'client.%s%s-%s' % (IDENTITY_PREFIX, volume_id, digest)


def image_caps(pool, image_name, image_id):
    """cephx capabilities that reach one image (format 2) and nothing else of the pool.

    librbd opens an image by reading ``rbd_id.<name>`` (its id) and the pool's
    ``rbd_info`` (pool-level settings), then works on ``rbd_header.<id>`` (metadata,
    watch, exclusive lock), ``rbd_object_map.<id>`` and ``rbd_data.<id>.*``. The monitor
    profile lets the client read the maps and blocklist a dead lock owner, as any RBD
    client needs.
    """
    osd = '; '.join([
        'allow rx pool=%s object_prefix rbd_info' % pool,
        'allow rx pool=%s object_prefix rbd_id.%s' % (pool, image_name),
        'allow rwx pool=%s object_prefix rbd_header.%s' % (pool, image_id),
        'allow rwx pool=%s object_prefix rbd_object_map.%s' % (pool, image_id),
        'allow rwx pool=%s object_prefix rbd_data.%s.' % (pool, image_id),
    ])
    return ['mon', 'profile rbd', 'osd', osd]


class RbdDriver(base.ConnectorDriver):
    """RBD images in one pool; per-connection cephx identities (see the module)."""

    OPTS = OPTS

    def __init__(self, conf, backend):
        super().__init__(conf, backend)
        self._rados = None
        self._rbd = None
        self._cluster = None
        self._connect_lock = threading.Lock()
        #: Names of the images found clashing at start-up (:meth:`do_setup`).
        self._unconfinable = set()

    # --- the cluster ----------------------------------------------------------------------

    def _bindings(self):
        if self._rados is None:
            try:
                self._rados = importutils.import_module('rados')
                self._rbd = importutils.import_module('rbd')
            except ImportError:
                raise exception.DriverError(reason=_(
                    'the rados and rbd Python modules are missing (Debian packages '
                    'python3-rados and python3-rbd; tools/ceph-bindings.py links them into '
                    'a virtualenv)'))
        return self._rados, self._rbd

    @property
    def cluster(self):
        """The connected ``rados.Rados`` (one per driver; librados is thread-safe)."""
        with self._connect_lock:
            if self._cluster is None:
                rados, _rbd = self._bindings()
                timeout = str(self.options.rados_connect_timeout)
                conf = {'rados_osd_op_timeout': timeout, 'rados_mon_op_timeout': timeout}
                if self.options.rbd_keyring_conf:
                    conf['keyring'] = self.options.rbd_keyring_conf
                cluster = rados.Rados(
                    rados_id=self.options.rbd_user or None,
                    clustername=self.options.rbd_cluster_name,
                    conffile=self.options.rbd_ceph_conf or '', conf=conf)
                try:
                    cluster.connect(timeout=self.options.rados_connect_timeout)
                except rados.Error as exc:
                    cluster.shutdown()
                    raise exception.DriverError(reason=_('cannot connect to the Ceph '
                                                         'cluster: %s') % exc)
                self._cluster = cluster
            return self._cluster

    def _ioctx(self):
        rados, _rbd = self._bindings()
        try:
            return self.cluster.open_ioctx(self.options.rbd_pool)
        except rados.Error as exc:
            raise exception.DriverError(reason=_('cannot open pool %(pool)s: %(exc)s')
                                        % {'pool': self.options.rbd_pool, 'exc': exc})

    def _mon_command(self, prefix, target=None, **args):
        """Run a monitor command; return its decoded JSON output (or None)."""
        args.update(prefix=prefix, format='json')
        ret, out, err = self.cluster.mon_command(
            json.dumps(args), b'', timeout=self.options.rados_connect_timeout,
            target=target)
        if ret != 0:
            raise exception.DriverError(reason=_('ceph %(cmd)s failed (%(ret)d): %(err)s')
                                        % {'cmd': prefix, 'ret': ret, 'err': err})
        return json.loads(out) if out.strip() else None

    # --- names ----------------------------------------------------------------------------

    def image_name(self, volume):
        if not uuidutils.is_uuid_like(volume.id):
            raise exception.InvalidVolume(reason=_('volume id %s is not a UUID') % volume.id)
        return VOLUME_PREFIX + volume.id

    def _open(self, ioctx, volume, read_only=False):
        _rados, rbd = self._bindings()
        return rbd.Image(ioctx, self.image_name(volume), read_only=read_only)

    # --- volumes --------------------------------------------------------------------------

    def do_setup(self):
        """Check the pool, and find the images whose ids clash (:meth:`_clashing`) once:
        those made by attachd before it checked at creation, or by other tools."""
        _rados, rbd = self._bindings()
        with self._ioctx() as ioctx:
            ids = sorted((image['id'], image['name']) for image in rbd.RBD().list2(ioctx))
        unconfinable = set()
        # Sorted, an id is followed by the ids it is a prefix of.
        for index, (image_id, name) in enumerate(ids):
            for other_id, other in ids[index + 1:]:
                if not other_id.startswith(image_id):
                    break
                if self._clashing(image_id, other_id):
                    LOG.error('The ids of images %s and %s clash: no access to either is '
                              'granted', name, other)
                    unconfinable.update((name, other))
        self._unconfinable = unconfinable

    def capabilities(self):
        caps = base.Capabilities(protocol='ceph', shared_targets=False, multiattach=True,
                                 free_capacity_gb='unknown', total_capacity_gb='unknown')
        if self._cluster is not None:
            try:
                stats = self._cluster.get_cluster_stats()
                caps.update(free_capacity_gb=stats['kb_avail'] * 1024 // GiB,
                            total_capacity_gb=stats['kb'] * 1024 // GiB)
            except Exception:
                LOG.debug('Ceph cluster statistics are unavailable', exc_info=True)
        return caps

    def create_volume(self, volume):
        """Create the image. A multiattach volume's image has no exclusive lock (nor the
        features that need it): hosts writing at once would pass the lock back and forth;
        as Cinder does.

        An image whose id clashes with another image's (:meth:`_id_clash`) is removed and
        made again, with a new id: the identities of its connections could not be limited
        to it.
        """
        _rados, rbd = self._bindings()
        features = rbd.RBD_FEATURE_LAYERING if volume.multiattach else None
        name = self.image_name(volume)
        with self._ioctx() as ioctx:
            for _attempt in range(ID_ATTEMPTS):
                try:
                    rbd.RBD().create(ioctx, name, volume.size * GiB, old_format=False,
                                     features=features)
                except rbd.ImageExists:
                    raise exception.DriverError(reason=_('the image of volume %s already '
                                                         'exists') % volume.id)
                other = self._id_clash(ioctx, name)
                if other is None:
                    break
                LOG.warning('The id of image %s clashes with that of image %s; making it '
                            'again', name, other)
                rbd.RBD().remove(ioctx, name)
            else:
                raise exception.DriverError(reason=_(
                    'the image of volume %(id)s got an id that clashes with another '
                    'image\'s %(n)d times') % {'id': volume.id, 'n': ID_ATTEMPTS})
        LOG.debug('Created image %s/%s (%d GiB)', self.options.rbd_pool, name, volume.size)
        return {'provider_location': '%s/%s' % (self.options.rbd_pool, name)}

    @staticmethod
    def _clashing(one, other):
        """True when the image ids ``one`` and ``other`` clash: capabilities match object
        names by prefix (``rbd_header.<id>``), and image ids have no fixed length."""
        return one != other and (one.startswith(other) or other.startswith(one))

    def _id_clash(self, ioctx, name):
        """The name of another image of the pool whose id clashes with that of image
        ``name`` (:meth:`_clashing`), or None. Lists the pool: called when an image is
        made, not when access is granted."""
        _rados, rbd = self._bindings()
        images = {image['name']: image['id'] for image in rbd.RBD().list2(ioctx)}
        image_id = images.get(name)
        if image_id is None:
            return None
        return next((other for other, other_id in sorted(images.items())
                     if other != name and self._clashing(image_id, other_id)), None)

    def delete_volume(self, volume):
        """Revoke every identity of the volume, then remove its image."""
        _rados, rbd = self._bindings()
        self.remove_export(volume)
        with self._ioctx() as ioctx:
            try:
                rbd.RBD().remove(ioctx, self.image_name(volume))
            except rbd.ImageNotFound:
                pass
            except rbd.ImageBusy:
                raise exception.DriverError(reason=_('the image of volume %s is still open '
                                                     'by a client') % volume.id)

    # --- identities -----------------------------------------------------------------------

    def _identities(self, image):
        """The cephx entities recorded in ``image``'s metadata."""
        return sorted(key[len(IDENTITY_METADATA):]
                      for key, _value in image.metadata_list()
                      if key.startswith(IDENTITY_METADATA))

    def _grant(self, ioctx, volume, connector):
        """Create (or fetch) the identity of the host's connection; return
        ``(entity, keyring text)``."""
        _rados, rbd = self._bindings()
        entity = identity_name(volume.id, connector)
        name = self.image_name(volume)
        self._check_confinable(name)
        try:
            with rbd.Image(ioctx, name) as image:
                image_id = image.id()
                image.metadata_set(IDENTITY_METADATA + entity,
                                   base.connection_key(connector))
        except rbd.ImageNotFound:
            raise exception.ConnectionFailure(volume_id=volume.id,
                                              reason=_('its image is missing'))
        caps = image_caps(self.options.rbd_pool, name, image_id)
        keys = self._mon_command('auth get-or-create', entity=entity, caps=caps)
        LOG.info('Granted %s access to the image of volume %s', entity, volume.id)
        return entity, '[%s]\n\tkey = %s\n' % (entity, keys[0]['key'])

    def _check_confinable(self, name):
        """Refuse to grant access to an image found clashing at start-up
        (:meth:`do_setup`); images made since were checked when they were made."""
        if name in self._unconfinable:
            raise exception.DriverError(reason=_(
                'image %s has an id that clashes with another image\'s: access to it '
                'cannot be limited to it') % name)

    def _revoke(self, ioctx, volume, entity):
        """Remove ``entity``'s key, then cut its open sessions; forget it last."""
        _rados, rbd = self._bindings()
        self._mon_command('auth rm', entity=entity)
        cut = self._blocklist_sessions(entity)
        try:
            with self._open(ioctx, volume) as image:
                image.metadata_remove(IDENTITY_METADATA + entity)
        except (rbd.ImageNotFound, KeyError):
            pass
        LOG.info('Revoked %s (blocklisted %d sessions) of volume %s', entity, cut, volume.id)

    def _blocklist_sessions(self, entity):
        """Blocklist the client addresses of ``entity``'s sessions on every monitor.

        Each librados instance keeps one monitor session, listed with the name it
        authenticated as and the address (with its nonce) it uses with the OSDs too.
        """
        addresses = set()
        for mon in self._mon_command('mon dump')['mons']:
            for session in self._mon_command('sessions', target=mon['name']) or []:
                if session.get('entity_name') != entity:
                    continue
                for addr in session['addrs']['addrvec']:
                    addresses.add('%s/%d' % (addr['addr'], addr['nonce']))
        for address in sorted(addresses):
            self._mon_command('osd blocklist', blocklistop='add', addr=address,
                              expire=float(self.options.rbd_blocklist_seconds))
        return len(addresses)

    # --- connections ----------------------------------------------------------------------

    def validate_connector(self, connector):
        if not base.connection_key(connector):
            raise exception.InvalidConnector(reason=_('the rbd backend needs the host\'s '
                                                      '"host" (or "initiator") name'))

    def create_export(self, volume, connector):
        """Nothing to export (RBD has no targets); the image must exist."""
        _rados, rbd = self._bindings()
        with self._ioctx() as ioctx:
            try:
                self._open(ioctx, volume, read_only=True).close()
            except rbd.ImageNotFound:
                raise exception.ExportFailure(volume_id=volume.id,
                                              reason=_('its image is missing'))

    def _monitors(self):
        """``(hosts, ports)`` of the monitors' v1 addresses, which every client speaks."""
        hosts, ports = [], []
        for mon in self._mon_command('mon dump')['mons']:
            addrs = mon['public_addrs']['addrvec']
            addr = next((a for a in addrs if a['type'] == 'v1'), addrs[0])['addr']
            host, port = addr.rsplit(':', 1)
            hosts.append(host.strip('[]'))
            ports.append(port)
        return hosts, ports

    def initialize_connection(self, volume, connector, attachment_id):
        hosts, ports = self._monitors()
        auth_enabled = 'cephx' in self.cluster.conf_get('auth_client_required')
        data = {
            'name': '%s/%s' % (self.options.rbd_pool, self.image_name(volume)),
            'hosts': hosts,
            'ports': ports,
            'cluster_name': self.options.rbd_cluster_name,
            'auth_enabled': auth_enabled,
            'auth_username': self.options.rbd_user,
            'secret_type': 'ceph',
            'secret_uuid': self.options.rbd_secret_uuid,
            'volume_id': volume.id,
            'discard': True,
        }
        if self.options.rbd_connection_identities:
            with self._ioctx() as ioctx:
                entity, keyring = self._grant(ioctx, volume, connector)
            data.update(auth_enabled=True, auth_username=entity[len('client.'):],
                        keyring=keyring)
        elif self.options.rbd_send_keyring:
            data['keyring'] = self._read_keyring()
        return {'driver_volume_type': 'rbd', 'data': data}

    def _read_keyring(self):
        path = self.options.rbd_keyring_conf
        if not path:
            raise exception.DriverError(reason=_('rbd_send_keyring needs rbd_keyring_conf'))
        try:
            with open(path) as keyring:
                return keyring.read()
        except OSError as exc:
            raise exception.DriverError(reason=_('cannot read rbd_keyring_conf: %s')
                                        % exc.strerror)

    def terminate_connection(self, volume, connector, remaining_connectors):
        if any(self.shares_connection(connector, other) for other in remaining_connectors):
            return True
        if self.options.rbd_connection_identities and base.connection_key(connector):
            with self._ioctx() as ioctx:
                self._revoke(ioctx, volume, identity_name(volume.id, connector))
        return False

    def remove_export(self, volume):
        """Revoke every identity the volume's image still records."""
        _rados, rbd = self._bindings()
        with self._ioctx() as ioctx:
            try:
                with self._open(ioctx, volume, read_only=True) as image:
                    entities = self._identities(image)
            except rbd.ImageNotFound:
                return
            for entity in entities:
                self._revoke(ioctx, volume, entity)

    def ensure_export(self, volume, connectors):
        """Keep exactly the identities of ``connectors``: one granted by an update that
        never recorded its connection is revoked. Ceph keeps identities across restarts,
        so nothing is re-created unless it went missing."""
        if not self.options.rbd_connection_identities:
            self.create_export(volume, None)
            return
        _rados, rbd = self._bindings()
        wanted = {identity_name(volume.id, c): c for c in connectors
                  if base.connection_key(c)}
        with self._ioctx() as ioctx:
            # One open checks that the image exists (create_export) and reads its
            # identities: the start-up reconciliation does this for every attached volume.
            try:
                with self._open(ioctx, volume, read_only=True) as image:
                    present = set(self._identities(image))
            except rbd.ImageNotFound:
                raise exception.ExportFailure(volume_id=volume.id,
                                              reason=_('its image is missing'))
            for entity in sorted(present - set(wanted)):
                self._revoke(ioctx, volume, entity)
            # Granting is idempotent (get-or-create): an identity someone removed by
            # hand comes back with a new key, which the host learns at its next update.
            for entity in sorted(wanted):
                self._grant(ioctx, volume, wanted[entity])

    def list_exports(self):
        """Ids of the volumes whose images still record an identity."""
        _rados, rbd = self._bindings()
        exported = []
        with self._ioctx() as ioctx:
            for name in rbd.RBD().list(ioctx):
                volume_id = name[len(VOLUME_PREFIX):]
                if not (name.startswith(VOLUME_PREFIX) and
                        uuidutils.is_uuid_like(volume_id)):
                    continue
                try:
                    with rbd.Image(ioctx, name, read_only=True) as image:
                        if self._identities(image):
                            exported.append(volume_id)
                except rbd.ImageNotFound:
                    continue
        return sorted(exported)
