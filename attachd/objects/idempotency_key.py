"""The IdempotencyKey object: a create request sent with an ``Idempotency-Key`` header.

The life of a key (the API's ``attachd.api.idempotency`` drives it):

1. :meth:`IdempotencyKey.claim` -- the first request with the key holds it (in progress,
   for ``[api] idempotency_lease`` seconds); a later one with the same key gets the stored
   answer to replay, or an error: 409 while the first still runs, 422 when its request
   differs;
2. :meth:`complete` stores a success's answer, replayed for ``[api] idempotency_ttl``
   seconds; :meth:`release` frees the key of a request that failed, so that it can be
   retried, corrected or not, with the same key;
3. :meth:`purge_expired` deletes the keys whose time ran out (the managers call it).
"""

import datetime

from oslo_log import log as logging
from oslo_serialization import jsonutils
from oslo_utils import uuidutils

from attachd import exception
from attachd.conf import CONF
from attachd.db import api as db_api
from attachd.db import idempotency as db_idempotency
from attachd.objects import base
from attachd.objects import fields

LOG = logging.getLogger(__name__)

Status = fields.IdempotencyKeyStatus


def _in(seconds):
    """``seconds`` from now, rounded up to the whole second: MySQL keeps whole seconds
    (MariaDB truncates), and a lease or replay window stored shorter would end early."""
    moment = db_api.utcnow() + datetime.timedelta(seconds=seconds)
    if moment.microsecond:
        moment = moment.replace(microsecond=0) + datetime.timedelta(seconds=1)
    return moment


@base.AttachdObjectRegistry.register
class IdempotencyKey(base.AttachdObject):
    # Version 1.0: Initial version
    VERSION = '1.0'

    fields = {
        'project_id': fields.StringField(),
        'user_id': fields.StringField(),
        'idempotency_key': fields.StringField(),
        'fingerprint': fields.StringField(),
        'claim_id': fields.UUIDField(),
        'status': fields.IdempotencyKeyStatusField(),
        'expires_at': fields.DateTimeField(),
        'response_status': fields.IntegerField(nullable=True),
        'response_headers': fields.DictOfStringsField(nullable=True),
        'response_body': fields.StringField(nullable=True),
    }

    @property
    def _scope(self):
        return {'project_id': self.project_id, 'user_id': self.user_id,
                'idempotency_key': self.idempotency_key}

    @property
    def is_completed(self):
        """True when this is the stored answer of an earlier request (to replay)."""
        return self.status == Status.COMPLETED

    @classmethod
    def _from_row(cls, context, row):
        obj = cls(context)
        for name in cls.fields:
            value = row[name]
            if name == 'response_headers' and value is not None:
                value = jsonutils.loads(value)
            setattr(obj, name, value)
        obj._context = context
        obj.obj_reset_changes()
        return obj

    @classmethod
    def claim(cls, context, key, fingerprint):
        """The key ``key`` of the caller (``context``'s project and user) for a request
        whose fingerprint is ``fingerprint``: either held by this request now (in
        progress), or completed by an earlier, identical request (``is_completed``).

        :raises IdempotencyKeyReused: an earlier request with this key was a different
            request (422).
        :raises IdempotencyKeyInProgress: the earlier request still runs (409).
        """
        obj = cls(context, project_id=context.project_id, user_id=context.user_id or '',
                  idempotency_key=key, fingerprint=fingerprint,
                  claim_id=uuidutils.generate_uuid(), status=Status.IN_PROGRESS,
                  expires_at=_in(CONF.api.idempotency_lease), response_status=None,
                  response_headers=None, response_body=None)
        row = db_idempotency.idempotency_key_claim(context, obj._scope, fingerprint,
                                                   obj.claim_id, obj.expires_at)
        if row is None:
            obj.obj_reset_changes()
            return obj
        if row['fingerprint'] != fingerprint:
            raise exception.IdempotencyKeyReused(key=key)
        if row['status'] != Status.COMPLETED:
            raise exception.IdempotencyKeyInProgress(key=key)
        return cls._from_row(context, row)

    def complete(self, status, headers, body):
        """Store the answer of the request holding the key, to replay for
        ``[api] idempotency_ttl`` seconds.

        :param headers: the response's own headers (``{name: value}``).
        :param body: the response body, as text.
        """
        values = {'response_status': status, 'response_headers': jsonutils.dumps(headers),
                  'response_body': body, 'expires_at': _in(CONF.api.idempotency_ttl)}
        if not db_idempotency.idempotency_key_complete(self._context, self._scope,
                                                       self.claim_id, values):
            # The request outlived its lease and another took the key over: that one's
            # answer is the key's. This one still answers its own caller.
            LOG.warning('Idempotency key %s of project %s: the request outlived its lease '
                        '([api] idempotency_lease); its answer is not stored',
                        self.idempotency_key, self.project_id)
            return
        self.status = Status.COMPLETED
        self.response_status = status
        self.response_headers = headers
        self.response_body = body
        self.expires_at = values['expires_at']
        self.obj_reset_changes()

    def release(self):
        """Free the key of the request holding it, which failed: a retry with the key
        runs the request again."""
        db_idempotency.idempotency_key_release(self._context, self._scope, self.claim_id)

    @staticmethod
    def purge_expired(context):
        """Delete the keys whose lease or replay window ended; returns how many."""
        return db_idempotency.idempotency_key_purge(context)
