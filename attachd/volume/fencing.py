"""Fencing a failed host: cut it off every volume, in every project and on every backend,
so that its instances can be evacuated while it may still be writing.

The order makes it race-free:

1. The fence row is written first (:meth:`Fence.create`, an insert keyed by host). From
   then on no connection is made for the host: each manager checks for the fence under
   its lock of the host before it grants access at the backend, and the statement that
   records a connection carries ``NOT EXISTS (fence)`` in its WHERE (a grant that raced
   past the first check is undone by the manager when the second refuses it).
2. Every backend's manager that is up gets ``fence_host``: under the same host lock (so
   no grant to the host is half done) it reads its attachments on the host (a cluster
   member: those of every volume of its cluster), revokes their access (tgt: unbinds the
   initiator and drops its sessions) and marks them ``fenced``, which releases their
   volumes (see :meth:`VolumeAttachment.fence`). Attachments left unfenced after that
   belong to a backend whose manager is down or failed: the fence is incomplete.

A repeated fence runs step 2 again. Nothing can have connected to the host meanwhile, so
it only takes up what a failed attempt left (a backend whose manager was down).
"""

from oslo_log import log as logging

from attachd import exception
from attachd import notifications
from attachd.common import rpc
from attachd.manager import rpcapi
from attachd.objects import fence as fence_obj
from attachd.objects import service as service_obj
from attachd.volume import clients

LOG = logging.getLogger(__name__)


def _managers(context, manager_api):
    """``{<host>@<backend>: service}`` of the managers that are up.

    :raises ManagerTooOld: the RPC pin forbids fencing.
    :raises ManagerCannotFence: a manager that is up is too old to fence.
    """
    if not manager_api.can_fence():
        raise exception.ManagerTooOld(what='fencing', version=manager_api.FENCE_VERSION)
    up = {}
    for service in service_obj.ServiceList.get_all(context.elevated(),
                                                   binary=rpcapi.BINARY):
        if not rpc.is_up(service):
            continue
        server = '%s@%s' % (service.host, service.backend)
        if not manager_api.can_fence(service):
            raise exception.ManagerCannotFence(backend=server, have=service.rpc_version,
                                               version=manager_api.FENCE_VERSION)
        up[server] = service
    return up


def fence(context, host):
    """Fence ``host`` (or fence it again) and return the standing fence, with the ids of
    its fenced attachments.

    :raises ManagerTooOld, ManagerCannotFence: some manager cannot fence; nothing changed.
    :raises FenceIncomplete: the fence stands, but the attachments of some backend could
        not be revoked (its manager is down or failed); fencing again finishes it.
    """
    manager_api = clients.manager_api()
    managers = _managers(context, manager_api)
    fence, created = fence_obj.Fence.create(context, host)
    # A manager that is up may be granting access to the host right now, for a volume
    # that has no attachment on it yet: each is asked, not only the backends that hold
    # attachments on the host today.
    failed = {}
    for backend in sorted(managers):
        try:
            manager_api.fence_host(context, backend, host)
        except exception.AttachdException as exc:
            failed[backend] = exc
    # Read once they answered: a member of a cluster fences the host's attachments of
    # every volume of the cluster, those another member placed included, so a backend
    # whose manager is down is incomplete only if attachments of its volumes are left.
    for backend in fence.backends_with_attachments() - set(managers):
        failed[backend] = exception.ManagerUnavailable(backend=backend)
    fence.load_attachments()
    if created:
        LOG.warning('Host %s fenced: attachments %s', host, ', '.join(fence.attachments))
        clients.notify_fence(context, notifications.FENCE_CREATE, fence)
    if failed:
        LOG.error('Fence of host %s incomplete on %s', host,
                  '; '.join('%s: %s' % item for item in sorted(failed.items())))
        raise exception.FenceIncomplete(host=host, backends=', '.join(sorted(failed)),
                                        reason=next(iter(failed.values())))
    return fence


def list_fences(context):
    """Every fence, oldest first."""
    return fence_obj.FenceList.get_all(context)


def unfence(context, host):
    """Lift the fence of ``host``: connections to it are made again. Its fenced
    attachments stay fenced (their connections are gone) until they are deleted.

    :raises FenceNotFound: the host is not fenced.
    """
    fence = fence_obj.Fence.get_by_host(context, host)
    fence.destroy()
    LOG.warning('Fence of host %s lifted', host)
    clients.notify_fence(context, notifications.FENCE_DELETE, fence)
