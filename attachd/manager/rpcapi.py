"""Client side of the manager RPC API: what the API process asks of managers.

Managers listen on topic ``attachd-manager``, one server per backend, named
``<host>@<backend>`` (the volume's ``host``); the members of a cluster also listen, all of
them, on the server ``<cluster>@<backend>`` (the volume's ``cluster_name``), and a volume of
a cluster is addressed there (``Volume.service_topic_queue``). The transport, over a broker
or in-process (the embedded ``attachd-all``), is ``attachd.common.rpc``'s.

API versions:

* 1.0 - create_volume, delete_volume, attachment_update, attachment_delete,
  initialize_connection
* 1.1 - reimage_volume
* 1.2 - attachment_update returns the attachment as the manager recorded it (before: its
  connection_info), so the API needs no read after it
* 1.3 - fence_host; attachment_update and initialize_connection refuse a fenced host

Each method is sent with the oldest version that has it in its current form, so managers
pinned to an older version (``[manager] rpc_version_cap``) keep serving it during a rolling
upgrade. attachment_update is sent at 1.2 only: no release shipped its 1.0 form, so there is
no manager that answers with the connection_info alone.
"""

import threading
import time

from kombu import exceptions as kombu_exceptions
from oslo_log import log as logging
import oslo_messaging as messaging

from attachd import exception
from attachd.common import rpc
from attachd.conf import CONF
from attachd.i18n import _
from attachd.objects import service as service_obj

LOG = logging.getLogger(__name__)

TOPIC = 'attachd-manager'
BINARY = 'attachd-manager'
RPC_API_VERSION = '1.3'
# How long a manager's service row, once read and found up, is trusted (ManagerAPI).
ALIVE_CACHE_SECONDS = 1.0

# What the rabbit driver lets through when its pool opens a connection to a broker that
# is down or refuses it: the broker is unavailable (503), not an internal error.
_BROKER_ERRORS = (kombu_exceptions.KombuError, OSError)

# What a manager's database failure is called when it crosses the broker: the class names
# oslo.messaging gives in RemoteError.exc_type for oslo.db's and SQLAlchemy's errors of an
# unreachable or failing database (only attachd's own exceptions travel as themselves,
# rpc.ALLOWED_EXMODS). Like the API's own database errors (attachd.exception.
# is_database_unavailable), they are a 503.
REMOTE_DB_UNAVAILABLE = frozenset(['DBConnectionError', 'DBDeadlock', 'DBError',
                                   'OperationalError', 'DisconnectionError'])

def _without_remote_trace(exc):
    """A manager's exception as callers may see it.

    oslo.messaging re-raises an exception of an allowed module as a subclass named
    ``<class>_Remote`` whose text carries the manager's traceback; the API would show it.
    The same class with the manager's own message is raised instead.
    """
    klass = type(exc)
    if not klass.__name__.endswith('_Remote'):
        return exc
    return klass.__bases__[0](exc.msg, **exc.kwargs)


def _from_remote(exc, server, method):
    """The attachd exception for a RemoteError: an exception of another library raised in
    the manager. Its text (a database's host and port, SQL, a driver's output) is for the
    log, never for the caller."""
    LOG.error('%s on the manager %s failed: %s: %s', method, server, exc.exc_type,
              exc.value)
    if exc.exc_type in REMOTE_DB_UNAVAILABLE:
        return exception.DatabaseUnavailable()
    return exception.DriverError(reason=_('the manager of backend %s failed; see its log')
                                 % server)


def _without_volume(attachment):
    """``attachment`` without its loaded ``volume``: every call sends the volume as an
    argument of its own already, and serializing it twice costs both sides."""
    if not attachment.obj_attr_is_set('volume'):
        return attachment
    copy = type(attachment)(attachment.obj_context)
    for name in attachment.fields:
        if name != 'volume' and attachment.obj_attr_is_set(name):
            setattr(copy, name, getattr(attachment, name))
    copy.obj_reset_changes()
    return copy


def _broker_unavailable(method, server, exc):
    """The 503 for a call or cast the broker did not take. oslo.messaging's text names the
    broker's host and port: it goes to the log, not to the caller."""
    LOG.warning('%s for %s not sent: %s: %s', method, server, type(exc).__name__, exc)
    return exception.BrokerUnavailable()


# --- the client --------------------------------------------------------------------------------

class ManagerAPI:
    """Client of the manager RPC API; one per API process."""

    def __init__(self):
        target = messaging.Target(topic=TOPIC, version=RPC_API_VERSION)
        serializer = rpc.RequestContextSerializer()
        transport = rpc.get_transport()
        version_cap = CONF.manager.rpc_version_cap
        self._alive = {}
        # Per manager (<host>@<backend>): how many more threads may wait for its answers.
        self._slots = {}
        self._slots_lock = threading.Lock()
        if transport is None:
            self.client = rpc.LocalClient(serializer, version_cap=version_cap)
        else:
            self.client = messaging.get_rpc_client(transport, target,
                                                   version_cap=version_cap,
                                                   serializer=serializer)

    def _prepare(self, context, volume, version=RPC_API_VERSION, check_alive=True):
        if not volume.host:
            raise exception.InvalidVolume(
                reason='volume %s has no backend (it may have failed to be created)'
                % volume.id)
        if check_alive:
            self._check_alive(context, volume)
        # No retry: a publish that fails (the broker is unreachable) is answered 503 at
        # once. Each attempt on a silent partition costs two heartbeat_timeout_threshold
        # (publish, then reconnect), and one retry more than doubled it (17 s with a
        # 4 s threshold); the pool's heartbeat threads reconnect in the background.
        return self.client.prepare(server=volume.service_topic_queue, version=version,
                                   timeout=CONF.rpc_response_timeout_api, retry=0)

    def _check_alive(self, context, volume):
        """Raise ManagerUnavailable unless the volume's manager heartbeats (or, in the
        embedded mode, is registered in this process: :func:`attachd.common.rpc.is_up`).
        A volume of a cluster needs one member of the cluster that heartbeats.

        A service row found up is reused for ``ALIVE_CACHE_SECONDS``: reading it cost one
        query per update and delete, for a heartbeat that changes every
        ``[manager] report_interval`` seconds. Its age is still computed at each call, and a
        row that looks down is always read again, so a cached row never hides a manager that
        stopped for longer than ``service_down_time`` plus that second.
        """
        queue = volume.service_topic_queue
        if isinstance(self.client, rpc.LocalClient):
            if not rpc.is_local_manager(queue):
                raise exception.ManagerUnavailable(backend=queue)
            return
        now = time.monotonic()
        cached = self._alive.get(queue)
        if cached is not None and now - cached[0] < ALIVE_CACHE_SECONDS and cached[1].is_up:
            return
        service = self._live_service(context, volume)
        if service is None:
            self._alive.pop(queue, None)
            raise exception.ManagerUnavailable(backend=queue)
        self._alive[queue] = (now, service)

    @staticmethod
    def _live_service(context, volume):
        """The service row of a live manager of the volume: of any member of its cluster,
        else of its host's manager; None when there is none."""
        if volume.cluster_name:
            members = service_obj.ServiceList.get_all(context.elevated(), binary=BINARY,
                                                      cluster_name=volume.cluster_name)
            return next((member for member in members if member.is_up), None)
        host, _sep, backend = volume.host.partition('@')
        try:
            service = service_obj.Service.get_by_args(context.elevated(), host, BINARY,
                                                      backend)
        except exception.ServiceNotFound:
            return None
        return service if service.is_up else None

    def _manager_slots(self, server):
        with self._slots_lock:
            slots = self._slots.get(server)
            if slots is None:
                slots = threading.BoundedSemaphore(CONF.api.manager_calls_per_backend)
                self._slots[server] = slots
            return slots

    def _call(self, context, method, version='1.0', **kwargs):
        """Call ``method`` on the volume's manager and wait for its answer.

        Over the broker, at most ``[api] manager_calls_per_backend`` threads of this
        process wait for one manager at once (a bulkhead): past it the call is refused with
        503 at once, so that a manager that died, or hangs, before its heartbeat goes stale
        cannot take every thread of the API with it.
        """
        volume = kwargs['volume']
        cctxt = self._prepare(context, volume, version=version)
        if isinstance(self.client, rpc.LocalClient):
            return self._send_call(cctxt, context, method, volume.service_topic_queue,
                                   kwargs)
        queue = volume.service_topic_queue
        slots = self._manager_slots(queue)
        if not slots.acquire(blocking=False):
            LOG.warning('%d calls already wait for the manager of %s; refusing %s',
                        CONF.api.manager_calls_per_backend, queue, method)
            raise exception.ManagerBusy(backend=queue)
        try:
            return self._send_call(cctxt, context, method, volume.host, kwargs)
        finally:
            slots.release()

    def _send_call(self, cctxt, context, method, server, kwargs):
        try:
            return cctxt.call(context, method, **kwargs)
        except exception.AttachdException as exc:
            raise _without_remote_trace(exc) from None
        except messaging.MessagingTimeout:
            raise exception.ManagerTimeout(backend=server,
                                           timeout=CONF.rpc_response_timeout_api)
        except (messaging.MessageDeliveryFailure, messaging.MessagingServerError,
                messaging.MessagingException) as exc:
            if isinstance(exc, messaging.RemoteError):
                raise _from_remote(exc, server, method) from None
            raise _broker_unavailable(method, server, exc)
        except _BROKER_ERRORS as exc:
            raise _broker_unavailable(method, server, exc)

    def _cast(self, context, method, version='1.0', **kwargs):
        volume = kwargs['volume']
        cctxt = self._prepare(context, volume, version=version, check_alive=False)
        try:
            cctxt.cast(context, method, **kwargs)
        except messaging.MessagingException as exc:
            raise _broker_unavailable(method, volume.host, exc)
        except _BROKER_ERRORS as exc:
            raise _broker_unavailable(method, volume.host, exc)

    def create_volume(self, context, volume):
        """Ask the volume's manager to create its storage (asynchronous)."""
        self._cast(context, 'create_volume', volume=volume)

    def delete_volume(self, context, volume):
        """Ask the volume's manager to delete its storage and row (asynchronous)."""
        self._cast(context, 'delete_volume', volume=volume)

    def reimage_volume(self, context, volume):
        """Ask the volume's manager to wipe it (asynchronous; the volume is
        ``downloading``).

        :raises ManagerTooOld: the managers are pinned below 1.1 (rolling upgrade).
        """
        version = '1.1'
        if not self.client.can_send_version(version):
            raise exception.ManagerTooOld(what='os-reimage', version=version)
        self._cast(context, 'reimage_volume', version=version, volume=volume)

    def attachment_update(self, context, volume, attachment, connector):
        """Connect ``attachment`` to the host of ``connector``.

        :returns: the attachment as recorded by the manager (without its volume).
        :raises ManagerTooOld: the managers are pinned below 1.2 (rolling upgrade).
        """
        version = '1.2'
        if not self.client.can_send_version(version):
            raise exception.ManagerTooOld(what='attachment updates', version=version)
        return self._call(context, 'attachment_update', version=version, volume=volume,
                          attachment=_without_volume(attachment), connector=connector)

    def attachment_delete(self, context, volume, attachment):
        """Tear down ``attachment``'s host connection (statuses are the API's job)."""
        return self._call(context, 'attachment_delete', volume=volume,
                          attachment=_without_volume(attachment))

    def initialize_connection(self, context, volume, connector):
        """Connect the host of ``connector`` again, for an attachment that is attached
        already (Nova's hard reboot); nothing is recorded.

        :returns: the connection_info in the legacy nested form.
        """
        return self._call(context, 'initialize_connection', volume=volume,
                          connector=connector)

    # The version that has fence_host: every manager that may hold a connection must
    # answer it, so the API refuses to fence below it (attachd.volume.fencing).
    FENCE_VERSION = '1.3'

    def can_fence(self, service=None):
        """True when the managers may be sent fence_host: the pin (``[manager]
        rpc_version_cap``) allows it, and ``service``'s manager, if it reported its RPC
        API version, reported one that has it."""
        if not self.client.can_send_version(self.FENCE_VERSION):
            return False
        if service is None or service.rpc_version is None:
            return True
        return rpc.version_is_compatible(service.rpc_version, self.FENCE_VERSION)

    def fence_host(self, context, server, host):
        """Have the manager of ``server`` (``<host>@<backend>``) cut ``host`` off its
        backend and mark its attachments there ``fenced``; returns their ids.

        :raises ManagerTooOld: :meth:`can_fence` says no.
        """
        if not self.can_fence():
            raise exception.ManagerTooOld(what='fencing', version=self.FENCE_VERSION)
        cctxt = self.client.prepare(server=server, version=self.FENCE_VERSION,
                                    timeout=CONF.rpc_response_timeout_api, retry=0)
        return self._send_call(cctxt, context, 'fence_host', server, {'host': host})
