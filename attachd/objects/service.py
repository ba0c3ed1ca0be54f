"""The Service object: a registered attachd-manager and its heartbeat."""

import datetime

from oslo_serialization import jsonutils
from oslo_utils import versionutils

from attachd.conf import CONF
from attachd.db import api as db_api
from attachd.objects import base
from attachd.objects import fields


@base.AttachdObjectRegistry.register
class Service(base.AttachdPersistentObject, base.AttachdObject):
    # Version 1.0: Initial version
    # Version 1.1: cluster_name
    VERSION = '1.1'

    fields = {
        'id': fields.IntegerField(),
        'uuid': fields.UUIDField(),
        'host': fields.StringField(),
        'binary': fields.StringField(),
        'backend': fields.StringField(nullable=True),
        'cluster_name': fields.StringField(nullable=True),
        'topic': fields.StringField(nullable=True),
        'report_count': fields.IntegerField(default=0),
        'disabled': fields.BooleanField(default=False),
        'heartbeat_at': fields.DateTimeField(nullable=True),
        'rpc_version': fields.StringField(nullable=True),
        'object_version': fields.StringField(nullable=True),
        'capabilities': fields.DictOfAnyField(nullable=True),
    }

    @classmethod
    def _from_db_object(cls, context, obj, db_obj, skip=()):
        super()._from_db_object(context, obj, db_obj, skip=('capabilities',))
        obj.capabilities = jsonutils.loads(db_obj.capabilities) if db_obj.capabilities else {}
        obj.obj_reset_changes()
        return obj

    def obj_make_compatible(self, primitive, target_version):
        super().obj_make_compatible(primitive, target_version)
        if versionutils.convert_version_to_tuple(target_version) < (1, 1):
            primitive.pop('cluster_name', None)

    @classmethod
    def get_by_args(cls, context, host, binary, backend=None):
        return cls._from_db_object(context, cls(context),
                                   db_api.service_get_by_args(context, host, binary, backend))

    def create(self):
        values = self.obj_get_changes()
        if 'capabilities' in values:
            values['capabilities'] = jsonutils.dumps(values['capabilities'])
        self._from_db_object(self._context, self, db_api.service_create(self._context, values))

    def save(self):
        values = self.obj_get_changes()
        if 'capabilities' in values:
            values['capabilities'] = jsonutils.dumps(values['capabilities'])
        for key, value in list(values.items()):
            if isinstance(value, datetime.datetime):
                values[key] = value.replace(tzinfo=None)
        if values:
            db_api.service_update(self._context, self.id, values)
        self.obj_reset_changes()

    def heartbeat(self):
        self.heartbeat_at = db_api.service_heartbeat(self._context, self.id)
        self.obj_reset_changes(['heartbeat_at'])

    def mark_down(self):
        """Record that the service stopped: it is down at once, not after
        ``[manager] service_down_time``."""
        db_api.service_update(self._context, self.id, {'heartbeat_at': None})
        self.heartbeat_at = None
        self.obj_reset_changes(['heartbeat_at'])

    @property
    def is_up(self):
        """True when the last heartbeat is younger than ``[manager] service_down_time``."""
        if self.disabled or self.heartbeat_at is None:
            return False
        last = self.heartbeat_at.replace(tzinfo=None)
        age = (db_api.utcnow() - last).total_seconds()
        return age <= CONF.manager.service_down_time


@base.AttachdObjectRegistry.register
class ServiceList(base.ObjectListBase, base.AttachdObject):
    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = {
        'objects': fields.ListOfObjectsField('Service'),
    }

    @classmethod
    def get_all(cls, context, binary=None, backend=None, cluster_name=None):
        return base.obj_make_list(context, cls(context), Service,
                                  db_api.service_get_all(context, binary, backend,
                                                         cluster_name))
