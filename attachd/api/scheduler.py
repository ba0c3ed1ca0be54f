"""Choosing where a new volume lives: a backend by name, and a live manager serving it.

The backend is the volume type's extra spec ``volume_backend_name``, else
``[DEFAULT] default_backend``, else the first of ``enabled_backends``. A manager serves it
when its ``services`` row names that backend (or reports it as its
``volume_backend_name`` capability) and its heartbeat is recent (in the embedded mode:
while it runs in this process). When none is alive, the
volume is created in status ``error`` (Cinder's "No valid backend"), so the create call
keeps Cinder's asynchronous 202 contract and the caller sees the failure on the volume.
A volume placed on a member of a cluster records the cluster (``cluster_name``), to which
its requests go.
"""

import random

from attachd.common import rpc
from attachd.conf import CONF
from attachd.manager import rpcapi
from attachd.objects import service as service_obj


def backend_name(volume_type):
    """The backend a volume of ``volume_type`` (or None) goes to."""
    if volume_type is not None and volume_type.backend_name:
        return volume_type.backend_name
    if CONF.default_backend:
        return CONF.default_backend
    return CONF.enabled_backends[0] if CONF.enabled_backends else None


def find_manager(context, volume_type):
    """A live manager Service for the volume type's backend, or None."""
    wanted = backend_name(volume_type)
    if wanted is None:
        return None
    services = service_obj.ServiceList.get_all(context.elevated(), binary=rpcapi.BINARY)
    live = [s for s in services if rpc.is_up(s) and wanted in (
        s.backend, (s.capabilities or {}).get('volume_backend_name'))]
    # Several hosts may serve the same backend name: spread the volumes over them.
    return random.choice(live) if live else None


def placement(service):
    """The volume fields that tie a volume to ``service``'s manager."""
    capabilities = service.capabilities or {}
    return {
        'host': '%s@%s' % (service.host, service.backend),
        # The API addresses a cluster's volume to the cluster: any live member serves it.
        'cluster_name': service.cluster_name,
        'service_uuid': service.uuid,
        'shared_targets': capabilities.get('shared_targets', True),
    }
