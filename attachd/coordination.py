"""Locks shared by the managers of one cluster, through tooz (``[coordination] backend_url``).

Managers of a cluster (``[DEFAULT] cluster``) consume one queue per backend, so two requests
for the same volume may run at once on two members. A driver's work on a volume (its export,
its target's access list) must not interleave, so each manager operation on a volume holds
the volume's lock (see ``attachd.manager.manager``) and, in a cluster, that lock is tooz's:
a file lock for the members of one machine, a PostgreSQL or MySQL advisory lock, an etcd
lease or a Redis key for members of several, as in Cinder's ``cinder.coordination``.

A manager without a cluster keeps its in-process lock only: it alone drives its backend.
"""

import contextlib
import time

from oslo_concurrency import lockutils
from oslo_log import log as logging
from tooz import coordination as tooz_coordination

from attachd.conf import CONF

LOG = logging.getLogger(__name__)

LOCK_PREFIX = 'attachd-volume-'


def volume_lock_name(volume_id):
    """The name of the lock a manager holds while it works on ``volume_id``."""
    return LOCK_PREFIX + volume_id


class Coordinator:
    """One member's connection to the coordination backend (``[coordination]
    backend_url``), identified by ``member_id`` (its ``<host>@<backend>``)."""

    def __init__(self, member_id, backend_url=None):
        self.member_id = member_id
        self.backend_url = backend_url or CONF.coordination.backend_url
        self._coordinator = None

    def start(self):
        """Connect; tooz's heart thread keeps the member's leases (etcd, Redis) alive."""
        coordinator = tooz_coordination.get_coordinator(self.backend_url,
                                                        self.member_id.encode())
        coordinator.start(start_heart=True)
        self._coordinator = coordinator
        LOG.info('Member %s coordinates through %s', self.member_id,
                 self.backend_url.split(':', 1)[0])
        return self

    def stop(self):
        """Disconnect; locks still held are released by the backend (file closed,
        database session ended, lease expired)."""
        if self._coordinator is None:
            return
        try:
            self._coordinator.stop()
        except Exception:
            # Stopping only releases: a backend already gone released everything.
            LOG.exception('Stopping the coordination of %s failed', self.member_id)
        self._coordinator = None

    @contextlib.contextmanager
    def lock(self, name):
        """Hold the lock ``name`` across the cluster.

        The threads of this process first queue on an in-process lock of the same name:
        a PostgreSQL or MySQL advisory lock belongs to a database session and tooz's
        locks are not meant to be shared between threads, so only one thread of a member
        waits for, and holds, the cluster's lock at a time.
        """
        with lockutils.lock(name):
            started = time.monotonic()
            with self._coordinator.get_lock(name.encode()):
                LOG.debug('Cluster lock %s acquired by %s after %.3f s', name,
                          self.member_id, time.monotonic() - started)
                yield
            LOG.debug('Cluster lock %s released by %s', name, self.member_id)


def named_lock(coordinator, name):
    """The lock ``name``: the cluster's through ``coordinator``, or this process's when
    there is no coordinator (a manager without a cluster)."""
    if coordinator is None:
        return lockutils.lock(name)
    return coordinator.lock(name)


def volume_lock(coordinator, volume_id):
    """The lock of ``volume_id`` (see :func:`named_lock`)."""
    return named_lock(coordinator, volume_lock_name(volume_id))


def host_lock(coordinator, host):
    """The lock of the attaching host ``host``, taken before a volume's lock by a grant to
    it and by its fence (see :func:`named_lock`)."""
    return named_lock(coordinator, 'attachd-host-%s' % host)
