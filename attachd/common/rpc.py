"""attachd's RPC plumbing: the transport, the serializer and the in-process client.

With ``[DEFAULT] transport_url`` set, calls travel over oslo.messaging; without it (the
embedded ``attachd-all``) they go to a manager of this process through :class:`LocalClient`,
which keeps oslo.messaging's client interface and the same serialization of objects, but has
no broker. What is called (the manager's API and its versions) is
``attachd.manager.rpcapi``'s business.
"""

import threading

import futurist
from oslo_log import log as logging
import oslo_messaging as messaging
from oslo_messaging.rpc import dispatcher

from attachd import context as a_context
from attachd import exception
from attachd.conf import CONF
from attachd.conf import messaging as messaging_conf
from attachd.objects import base as objects_base

LOG = logging.getLogger(__name__)

ALLOWED_EXMODS = ['attachd.exception']

_transport = None
_transport_lock = threading.Lock()


def get_transport():
    """The process's RPC transport (created once), or None in the embedded mode."""
    global _transport
    if not messaging_conf.transport_url(CONF):
        return None
    with _transport_lock:
        if _transport is None:
            messaging_conf.set_rabbit_defaults(CONF)
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


def start_server(transport, topic, server, version, endpoint):
    """Start serving ``endpoint``'s exposed methods on ``topic``/``server`` of
    ``transport``: native threads (the threading executor), attachd's context and object
    serializer, and only the methods marked ``@messaging.expose``.

    :returns: the started oslo.messaging RPC server.
    """
    target = messaging.Target(topic=topic, server=server, version=version)
    rpc_server = messaging.get_rpc_server(
        transport, target, [endpoint], executor='threading',
        serializer=RequestContextSerializer(),
        access_policy=dispatcher.ExplicitRPCAccessPolicy)
    rpc_server.start()
    return rpc_server


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


def is_local_manager(server):
    """True when a manager of this process answers local calls to ``server``."""
    return server in _local_managers


def is_up(service):
    """True when the manager of ``service`` can be sent work.

    A manager in this process (the embedded mode) is alive while it is registered, by
    construction: a heartbeat thread starved of CPU must not make the API refuse it. Any
    other manager is alive while its heartbeat is fresh (``Service.is_up``).
    """
    if get_transport() is None:
        return is_local_manager('%s@%s' % (service.host, service.backend))
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
        # As oslo.messaging's RPCClient: without a cap, every version can be sent.
        return not self.version_cap or version_is_compatible(self.version_cap, version)

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
