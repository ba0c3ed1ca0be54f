"""A manager's membership of a cluster (``[DEFAULT] cluster``): active-active managers.

The members of cluster ``C`` that enable backend ``B`` serve it together, as Cinder's
clustered volume services do:

* each records ``C@B`` as the ``cluster_name`` of its service row, and the volumes the API
  places on any of them get the same ``cluster_name``;
* each consumes, besides its own ``<host>@B`` queue, the queue of server ``C@B`` on the
  manager topic: oslo.messaging servers of one topic and server name share one queue, so
  a request sent to the cluster reaches exactly one live member, and a message a killed
  member had not yet taken is delivered to another;
* each holds the cluster's lock of a volume (``attachd.coordination``) while it works on
  it, so that two members never interleave on one volume's export;
* start-up reconciliation and recovery cover the cluster's volumes and read a volume's
  connections again under its lock before removing anything (``Manager.reconcile_exports``).

Without a cluster, none of this happens: the manager serves ``<host>@B`` alone, with
in-process locks, as before.
"""

from oslo_log import log as logging

from attachd import coordination
from attachd.common import rpc
from attachd.conf import CONF
from attachd.manager import rpcapi

LOG = logging.getLogger(__name__)


def cluster_name(backend, cluster=None):
    """``<cluster>@<backend>``, or None when this node is in no cluster."""
    cluster = cluster if cluster is not None else CONF.cluster
    return '%s@%s' % (cluster, backend) if cluster else None


class Membership:
    """What one manager does as a member of its backend's cluster; nothing without one."""

    def __init__(self, name, member_id):
        #: ``<cluster>@<backend>``, or None.
        self.name = name
        self.member_id = member_id
        self.coordinator = None
        self.rpc_server = None
        self._local = False

    @classmethod
    def for_backend(cls, backend, member_id):
        """The membership of the manager ``member_id`` (``<host>@<backend>``)."""
        return cls(cluster_name(backend), member_id)

    def join(self):
        """Connect to the coordination backend (``[coordination] backend_url``)."""
        if self.name:
            self.coordinator = coordination.Coordinator(self.member_id).start()

    def manager_kwargs(self):
        """The cluster arguments of ``attachd.manager.manager.Manager``."""
        return {'cluster_name': self.name, 'coordinator': self.coordinator}

    def serve(self, transport, manager):
        """Consume the cluster's queue (server ``<cluster>@<backend>``) too."""
        if not self.name:
            return
        self.rpc_server = rpc.start_server(transport, rpcapi.TOPIC, self.name,
                                           rpcapi.RPC_API_VERSION, manager)
        LOG.info('Manager %s serves cluster %s', self.member_id, self.name)

    def serve_local(self, manager):
        """In the embedded mode (no broker), answer local calls to the cluster's name;
        the first manager of the process to join it does."""
        if self.name and not rpc.is_local_manager(self.name):
            rpc.register_local_manager(self.name, manager)
            self._local = True

    def stop_serving(self):
        """Stop taking the cluster's messages: those not yet taken go to other members."""
        if self.rpc_server is not None:
            self.rpc_server.stop()
            self.rpc_server.wait()
            self.rpc_server = None
        if self._local:
            rpc.unregister_local_manager(self.name)
            self._local = False

    def leave(self):
        """Disconnect from the coordination backend (after the last volume lock)."""
        if self.coordinator is not None:
            self.coordinator.stop()
            self.coordinator = None
