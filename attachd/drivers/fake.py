"""The fake driver: deterministic connection_info, no storage. For tests and demos."""

import threading

from attachd.drivers import base


class FakeDriver(base.ConnectorDriver):
    """Remembers exports and connections in memory and reports them like an iSCSI target."""

    def __init__(self, conf, backend):
        super().__init__(conf, backend)
        self._lock = threading.Lock()
        self.exports = set()
        self.connections = {}
        self.wiped = []

    def capabilities(self):
        return base.Capabilities(protocol='fake', shared_targets=False, multiattach=True,
                                 free_capacity_gb='infinite', total_capacity_gb='infinite')

    def create_volume(self, volume):
        return {'provider_location': 'fake:%s' % volume.id}

    def delete_volume(self, volume):
        with self._lock:
            self.exports.discard(volume.id)
            self.connections.pop(volume.id, None)

    def wipe_volume(self, volume):
        self.wiped.append(volume.id)

    def create_export(self, volume, connector):
        with self._lock:
            self.exports.add(volume.id)

    def initialize_connection(self, volume, connector, attachment_id):
        with self._lock:
            self.connections.setdefault(volume.id, set()).add(base.connection_key(connector))
        return {
            'driver_volume_type': 'fake',
            'data': {
                'target_iqn': 'iqn.2026-11.org.attachd.fake:%s' % volume.id,
                'target_portal': '127.0.0.1:3260',
                'target_lun': 1,
                'target_discovered': False,
                'volume_id': volume.id,
            },
        }

    def terminate_connection(self, volume, connector, remaining_connectors):
        key = base.connection_key(connector)
        if any(base.connection_key(c) == key for c in remaining_connectors):
            return True
        with self._lock:
            self.connections.get(volume.id, set()).discard(key)
        return False

    def remove_export(self, volume):
        with self._lock:
            self.exports.discard(volume.id)
            self.connections.pop(volume.id, None)

    def list_exports(self):
        with self._lock:
            return sorted(self.exports)
