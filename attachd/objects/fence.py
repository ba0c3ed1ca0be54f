"""The Fence object: a host cut off from every volume (see
:mod:`attachd.volume.fencing`)."""

from attachd import exception
from attachd.db import fences as fences_db
from attachd.objects import base
from attachd.objects import fields


@base.AttachdObjectRegistry.register
class Fence(base.AttachdObject):
    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = {
        'host': fields.StringField(),
        'created_at': fields.DateTimeField(),
        # The ids of the live attachments the fence cut off (deleted ones drop out).
        'attachments': fields.ListOfStringsField(),
    }

    @classmethod
    def _make(cls, context, row, attachment_ids):
        fence = cls(context, host=row.host, created_at=row.created_at,
                    attachments=list(attachment_ids))
        fence.obj_reset_changes()
        return fence

    @classmethod
    def create(cls, context, host):
        """Fence ``host`` (its row only: :mod:`attachd.volume.fencing` revokes the
        connections).

        :returns: ``(fence, created)``; created is False when the fence stood already.
        """
        row, created = fences_db.fence_create(context, host)
        return cls._make(context, row, []), created

    @classmethod
    def get_by_host(cls, context, host):
        """:raises FenceNotFound: the host is not fenced."""
        row = fences_db.fence_get(context, host)
        return cls._make(context, row,
                         fences_db.fenced_attachment_ids(context, [host])[host])

    @classmethod
    def check_not_fenced(cls, context, host):
        """:raises HostFenced: ``host`` is fenced (nothing for a connector without a
        host)."""
        if not host:
            return
        try:
            row = fences_db.fence_get(context, host)
        except exception.FenceNotFound:
            return
        raise exception.HostFenced(host=host, created_at=row.created_at)

    def backends_with_attachments(self):
        """The backends (``<host>@<backend>``) of the volumes with attachments on this
        host not fenced yet."""
        return fences_db.backends_with_attachments_on_host(self._context, self.host)

    def load_attachments(self):
        """Read the ids of the live attachments fenced on this host."""
        self.attachments = fences_db.fenced_attachment_ids(self._context,
                                                           [self.host])[self.host]
        self.obj_reset_changes(['attachments'])

    def destroy(self):
        """Lift the fence; its fenced attachments stay fenced until they are deleted.

        :raises FenceNotFound: the host is not fenced (a concurrent lift won).
        """
        fences_db.fence_delete(self._context, self.host)


@base.AttachdObjectRegistry.register
class FenceList(base.ObjectListBase, base.AttachdObject):
    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = {
        'objects': fields.ListOfObjectsField('Fence'),
    }

    @classmethod
    def get_all(cls, context):
        rows = fences_db.fence_get_all(context)
        ids = fences_db.fenced_attachment_ids(context, [row.host for row in rows])
        fences = cls(context)
        fences.objects = [Fence._make(context, row, ids[row.host]) for row in rows]
        fences.obj_reset_changes()
        return fences
