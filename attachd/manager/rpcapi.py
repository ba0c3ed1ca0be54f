"""Client side of the manager RPC API: what the API process asks of managers.

Managers listen on topic ``attachd-manager``, one server per backend, named
``<host>@<backend>`` (the volume's ``host``). With ``[DEFAULT] transport_url`` set the calls
travel over oslo.messaging; without it (the embedded ``attachd-all``) they go to the manager
of this process through :class:`LocalClient`, which keeps the same interface and the same
serialization of objects but has no broker and no fake-driver delay.

API versions:

* 1.0 - create_volume, delete_volume, attachment_update, attachment_delete,
  initialize_connection, terminate_connection
* 1.1 - reimage_volume
* 1.2 - attachment_update returns the attachment as the manager recorded it (before: its
  connection_info), so the API needs no read after it

Each method is sent with the oldest version that has it, so managers pinned to an older
version (``[manager] rpc_version_cap``) keep serving it during a rolling upgrade.
"""

import threading
import time

import futurist
from kombu import exceptions as kombu_exceptions
from oslo_log import log as logging
import oslo_messaging as messaging

from attachd.conf import CONF
from attachd import context as a_context
from attachd import exception
from attachd.i18n import _
from attachd.objects import base as objects_base
from attachd.objects import service as service_obj

LOG = logging.getLogger(__name__)

TOPIC = 'attachd-manager'
BINARY = 'attachd-manager'
RPC_API_VERSION = '1.2'
ALLOWED_EXMODS = ['attachd.exception']
# How long a manager's service row, once read and found up, is trusted (ManagerAPI).
ALIVE_CACHE_SECONDS = 1.0

# What the rabbit driver lets through when its pool opens a connection to a broker that
# is down or refuses it: the broker is unavailable (503), not an internal error.
_BROKER_ERRORS = (kombu_exceptions.KombuError, OSError)

# What a manager's database failure is called when it crosses the broker: the class names
# oslo.messaging gives in RemoteError.exc_type for oslo.db's and SQLAlchemy's errors of an
# unreachable or failing database (only attachd's own exceptions travel as themselves,
# ALLOWED_EXMODS). Like the API's own database errors (attachd.exception.
# is_database_unavailable), they are a 503.
REMOTE_DB_UNAVAILABLE = frozenset(['DBConnectionError', 'DBDeadlock', 'DBError',
                                   'OperationalError', 'DisconnectionError'])

_transport = None
_transport_lock = threading.Lock()


def get_transport():
    """The process's RPC transport (created once), or None in the embedded mode."""
    global _transport
    if not CONF.transport_url:
        return None
    with _transport_lock:
        if _transport is None:
            _transport = messaging.get_rpc_transport(CONF, allowed_remote_exmods=ALLOWED_EXMODS)
        return _transport


class RequestContextSerializer(messaging.Serializer):
    """Carries attachd's RequestContext and objects across RPC."""

    def __init__(self, base=None):
        self._base = base or objects_base.AttachdObjectSerializer()

    def serialize_entity(self, ctxt, entity):
        return self._base.serialize_entity(ctxt, entity)

    def deserialize_entity(self, ctxt, entity):
        return self._base.deserialize_entity(ctxt, entity)

    def serialize_context(self, ctxt):
        return ctxt.to_dict()

    def deserialize_context(self, ctxt):
        return a_context.RequestContext.from_dict(ctxt)


def version_is_compatible(available, wanted):
    """True when a peer at version ``available`` can handle a ``wanted`` message: the same
    major version, and a minor version at least as high."""
    have = tuple(int(p) for p in available.split('.'))
    want = tuple(int(p) for p in wanted.split('.'))
    return have[0] == want[0] and have[1:] >= want[1:]


# --- the in-process path of the embedded mode ---------------------------------------------------

_local_managers = {}
_local_executor = None


def register_local_manager(server, manager):
    """Make ``manager`` answer local calls addressed to ``server`` (``<host>@<backend>``)."""
    _local_managers[server] = manager


def unregister_local_manager(server):
    _local_managers.pop(server, None)


def is_up(service):
    """True when the manager of ``service`` can be sent work.

    A manager in this process (the embedded mode) is alive while it is registered, by
    construction: a heartbeat thread starved of CPU must not make the API refuse it. Any
    other manager is alive while its heartbeat is fresh (``Service.is_up``).
    """
    if get_transport() is None:
        return '%s@%s' % (service.host, service.backend) in _local_managers
    return service.is_up


def _executor():
    global _local_executor
    if _local_executor is None:
        _local_executor = futurist.ThreadPoolExecutor(max_workers=CONF.manager.executor_threads)
    return _local_executor


class LocalClient:
    """oslo.messaging's RPCClient interface, served by managers of this process.

    Arguments and results go through the same serializer as over a broker, so the manager
    gets its own copies of objects, as it would in another process.
    """

    def __init__(self, serializer, server=None, version_cap=None):
        self.serializer = serializer
        self.server = server
        self.version_cap = version_cap

    def prepare(self, server=None, version=None, timeout=None, **kwargs):
        return LocalClient(self.serializer, server or self.server, self.version_cap)

    def can_send_version(self, version):
        return version_is_compatible(self.version_cap or RPC_API_VERSION, version)

    def _manager(self):
        try:
            return _local_managers[self.server]
        except KeyError:
            # Not a broker failure: this process's manager for the backend is not running.
            raise exception.ManagerUnavailable(backend=self.server) from None

    def _invoke(self, ctxt, method, kwargs):
        manager = self._manager()
        s = self.serializer
        wire_ctxt = s.serialize_context(ctxt)
        wire_args = {k: s.serialize_entity(ctxt, v) for k, v in kwargs.items()}
        m_ctxt = s.deserialize_context(wire_ctxt)
        m_args = {k: s.deserialize_entity(m_ctxt, v) for k, v in wire_args.items()}
        result = getattr(manager, method)(m_ctxt, **m_args)
        return s.deserialize_entity(ctxt, s.serialize_entity(m_ctxt, result))

    def call(self, ctxt, method, **kwargs):
        return self._invoke(ctxt, method, kwargs)

    def cast(self, ctxt, method, **kwargs):
        manager_ctxt = ctxt

        def run():
            try:
                self._invoke(manager_ctxt, method, kwargs)
            except Exception:
                LOG.exception('Local cast %s to %s failed', method, self.server)
        self._manager()
        _executor().submit(run)


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
    copy = type(attachment)(attachment._context)
    for name in attachment.fields:
        if name != 'volume' and attachment.obj_attr_is_set(name):
            setattr(copy, name, getattr(attachment, name))
    copy.obj_reset_changes()
    return copy


def _broker_unavailable(method, volume, exc):
    """The 503 for a call or cast the broker did not take. oslo.messaging's text names the
    broker's host and port: it goes to the log, not to the caller."""
    LOG.warning('%s for %s not sent: %s: %s', method, volume.host, type(exc).__name__, exc)
    return exception.BrokerUnavailable()


# --- the client --------------------------------------------------------------------------------

class ManagerAPI:
    """Client of the manager RPC API; one per API process."""

    def __init__(self):
        target = messaging.Target(topic=TOPIC, version=RPC_API_VERSION)
        serializer = RequestContextSerializer()
        transport = get_transport()
        version_cap = CONF.manager.rpc_version_cap
        self._alive = {}
        # Per manager (<host>@<backend>): how many more threads may wait for its answers.
        self._slots = {}
        self._slots_lock = threading.Lock()
        if transport is None:
            self.client = LocalClient(serializer, version_cap=version_cap)
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
        return self.client.prepare(server=volume.host, version=version,
                                   timeout=CONF.rpc_response_timeout_api, retry=0)

    def _check_alive(self, context, volume):
        """Raise ManagerUnavailable unless the volume's manager heartbeats (or, in the
        embedded mode, is registered in this process: :func:`is_up`).

        A service row found up is reused for ``ALIVE_CACHE_SECONDS``: reading it cost one
        query per update and delete, for a heartbeat that changes every
        ``[manager] report_interval`` seconds. Its age is still computed at each call, and a
        row that looks down is always read again, so a cached row never hides a manager that
        stopped for longer than ``service_down_time`` plus that second.
        """
        if isinstance(self.client, LocalClient):
            if volume.host not in _local_managers:
                raise exception.ManagerUnavailable(backend=volume.host)
            return
        now = time.monotonic()
        cached = self._alive.get(volume.host)
        if cached is not None and now - cached[0] < ALIVE_CACHE_SECONDS and cached[1].is_up:
            return
        host, _sep, backend = volume.host.partition('@')
        try:
            service = service_obj.Service.get_by_args(context.elevated(), host, BINARY,
                                                      backend)
        except exception.ServiceNotFound:
            self._alive.pop(volume.host, None)
            raise exception.ManagerUnavailable(backend=volume.host)
        if not service.is_up:
            self._alive.pop(volume.host, None)
            raise exception.ManagerUnavailable(backend=volume.host)
        self._alive[volume.host] = (now, service)

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
        if isinstance(self.client, LocalClient):
            return self._send_call(cctxt, context, method, volume, kwargs)
        slots = self._manager_slots(volume.host)
        if not slots.acquire(blocking=False):
            LOG.warning('%d calls already wait for the manager of %s; refusing %s',
                        CONF.api.manager_calls_per_backend, volume.host, method)
            raise exception.ManagerBusy(backend=volume.host)
        try:
            return self._send_call(cctxt, context, method, volume, kwargs)
        finally:
            slots.release()

    def _send_call(self, cctxt, context, method, volume, kwargs):
        try:
            return cctxt.call(context, method, **kwargs)
        except exception.AttachdException as exc:
            raise _without_remote_trace(exc) from None
        except messaging.MessagingTimeout:
            raise exception.ManagerTimeout(backend=volume.host,
                                           timeout=CONF.rpc_response_timeout_api)
        except (messaging.MessageDeliveryFailure, messaging.MessagingServerError,
                messaging.MessagingException) as exc:
            if isinstance(exc, messaging.RemoteError):
                raise _from_remote(exc, volume.host, method) from None
            raise _broker_unavailable(method, volume, exc)
        except _BROKER_ERRORS as exc:
            raise _broker_unavailable(method, volume, exc)

    def _cast(self, context, method, version='1.0', **kwargs):
        volume = kwargs['volume']
        cctxt = self._prepare(context, volume, version=version, check_alive=False)
        try:
            cctxt.cast(context, method, **kwargs)
        except messaging.MessagingException as exc:
            raise _broker_unavailable(method, volume, exc)
        except _BROKER_ERRORS as exc:
            raise _broker_unavailable(method, volume, exc)

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

        :returns: the attachment as recorded (a 1.2 manager), or the connection_info (older
            managers; the caller reads the attachment then).
        """
        version = '1.2' if self.client.can_send_version('1.2') else '1.0'
        return self._call(context, 'attachment_update', version=version, volume=volume,
                          attachment=_without_volume(attachment), connector=connector)

    def attachment_delete(self, context, volume, attachment):
        """Tear down ``attachment``'s host connection (statuses are the API's job)."""
        return self._call(context, 'attachment_delete', volume=volume,
                          attachment=_without_volume(attachment))

    def initialize_connection(self, context, volume, connector):
        """Legacy os-initialize_connection: connection_info for ``connector``."""
        return self._call(context, 'initialize_connection', volume=volume,
                          connector=connector)

    def terminate_connection(self, context, volume, connector):
        """Legacy os-terminate_connection."""
        return self._call(context, 'terminate_connection', volume=volume,
                          connector=connector)
