"""attachd's exceptions.

Every error a caller can cause or meet is one of these. Each class carries the HTTP status it
maps to (``code``) and a message template; the API turns them into Cinder-shaped fault bodies
in one place (``attachd.api.fault``). ``safe`` messages are shown to callers; others are
replaced by a generic text so no internal detail leaks.
"""

import errno

from oslo_db import exception as db_exc
import sqlalchemy as sa

from attachd.i18n import _


class AttachdException(Exception):
    """Base class: ``msg_fmt`` is formatted with the keyword arguments."""

    msg_fmt = _('An unknown exception occurred.')
    code = 500
    safe = False

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if message is None:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError):
                # A wrong template must not hide the error that was being raised.
                message = self.msg_fmt
        self.msg = str(message)
        super().__init__(self.msg)

    def __str__(self):
        return self.msg


class NotAuthorized(AttachdException):
    msg_fmt = _('Not authorized.')
    code = 403
    safe = True


class PolicyNotAuthorized(NotAuthorized):
    msg_fmt = _("Policy doesn't allow %(action)s to be performed.")


class Invalid(AttachdException):
    msg_fmt = _('Unacceptable parameters.')
    code = 400
    safe = True


class InvalidInput(Invalid):
    msg_fmt = _('Invalid input received: %(reason)s')


class InvalidVolume(Invalid):
    msg_fmt = _('Invalid volume: %(reason)s')


class InvalidConnector(Invalid):
    msg_fmt = _('Invalid connector: %(reason)s')


class ValidationError(Invalid):
    msg_fmt = '%(detail)s'


class NotFound(AttachdException):
    msg_fmt = _('Resource could not be found.')
    code = 404
    safe = True


class ResourceNotFound(NotFound):
    """No such path, or a method newer than the request's microversion (Cinder's generic
    404 body)."""

    msg_fmt = _('The resource could not be found.')


class MalformedRequest(Invalid):
    """The request itself is wrong (body, URL, query); ``reason`` says how."""

    msg_fmt = '%(reason)s'


class MethodNotAllowed(AttachdException):
    msg_fmt = _('The method %(method)s is not allowed here; allowed: %(allowed)s.')
    code = 405
    safe = True


class UnsupportedMediaType(AttachdException):
    msg_fmt = _('Unsupported Content-Type %(content_type)s: send application/json.')
    code = 415
    safe = True


class NotImplementedYet(AttachdException):
    msg_fmt = _('%(what)s is not supported by attachd.')
    code = 501
    safe = True


class VolumeNotFound(NotFound):
    msg_fmt = _('Volume %(volume_id)s could not be found.')


class VolumeAttachmentNotFound(NotFound):
    msg_fmt = _('Volume attachment could not be found with filter: '
                'attachment_id = %(attachment_id)s.')


class VolumeMetadataNotFound(NotFound):
    msg_fmt = _('Volume %(volume_id)s has no metadata with key %(metadata_key)s.')


class VolumeTypeNotFound(NotFound):
    msg_fmt = _('Volume type %(volume_type_id)s could not be found.')


class VolumeTypeNotFoundByName(VolumeTypeNotFound):
    msg_fmt = _('Volume type with name %(volume_type_name)s could not be found.')


class VolumeTypeExtraSpecNotFound(NotFound):
    msg_fmt = _('Volume type %(volume_type_id)s has no extra specs with key '
                '%(extra_specs_key)s.')


class MarkerNotFound(NotFound):
    msg_fmt = _('Marker %(marker)s could not be found.')


class FenceNotFound(NotFound):
    msg_fmt = _('Host %(host)s is not fenced.')


class ServiceNotFound(NotFound):
    msg_fmt = _('Service %(service_id)s could not be found.')


class Conflict(AttachdException):
    msg_fmt = _('Conflicting request.')
    code = 409
    safe = True


class VolumeTypeExists(Conflict):
    msg_fmt = _('Volume type %(name)s already exists.')


class VolumeTypeDefaultDeletionError(Invalid):
    msg_fmt = _('The volume type %(volume_type_id)s is a default volume type and cannot be '
                'deleted.')


class VolumeTypeInUse(Invalid):
    msg_fmt = _('Volume type %(volume_type_id)s deletion is not allowed with volumes '
                'present with the type.')


class ConflictNovaUsingAttachment(Conflict):
    msg_fmt = _('ConflictNovaUsingAttachment: Detach volume from instance %(instance_id)s '
                'using the Compute API')


class IdempotencyKeyInProgress(Conflict):
    msg_fmt = _('The first request with Idempotency-Key %(key)s is still in progress. '
                'Retry later with the same key to get its answer.')


class IdempotencyKeyReused(AttachdException):
    msg_fmt = _('Idempotency-Key %(key)s was used for a different request (another '
                'method, path, body, microversion or service token). Use a new key for '
                'a new request.')
    code = 422
    safe = True


class AttachmentConflict(Conflict):
    msg_fmt = _('%(reason)s')


class HostFenced(Conflict):
    msg_fmt = _('Host %(host)s is fenced (since %(created_at)s): no connection is made for '
                'it until the fence is lifted (DELETE /v3/{project_id}/fences/%(host)s).')


class AttachmentFenced(Conflict):
    msg_fmt = _('Attachment %(attachment_id)s was fenced with its host %(host)s; it cannot '
                'be connected again, only deleted.')


class AttachmentChanged(Conflict):
    """The attachment was connected or reconnected while it was being deleted."""

    msg_fmt = _('Attachment %(attachment_id)s changed while it was being deleted; retry.')


class ServiceUnavailable(AttachdException):
    msg_fmt = _('Service is unavailable at this time: %(reason)s')
    code = 503
    safe = True


class ManagerUnavailable(ServiceUnavailable):
    msg_fmt = _('The manager of backend %(backend)s is not running; try again later.')


class BrokerUnavailable(ServiceUnavailable):
    msg_fmt = _('The message broker is not reachable; try again later.')


class ManagerBusy(ServiceUnavailable):
    msg_fmt = _('The manager of backend %(backend)s is not answering as fast as it is '
                'asked; try again later.')


class ManagerTooOld(ServiceUnavailable):
    msg_fmt = _('The managers do not support %(what)s yet (their RPC API is pinned below '
                '%(version)s during an upgrade); try again once they are upgraded.')


class ManagerCannotFence(ServiceUnavailable):
    msg_fmt = _('The manager of backend %(backend)s runs RPC API %(have)s, which cannot '
                'fence a host (%(version)s needed); nothing was fenced. Upgrade it and '
                'fence again.')


class FenceIncomplete(ServiceUnavailable):
    msg_fmt = _('Host %(host)s is fenced: no new connection is made for it. But its '
                'connections on backend(s) %(backends)s could not be revoked (%(reason)s); '
                'fence it again to finish.')


class ManagerTimeout(AttachdException):
    msg_fmt = _('The manager of backend %(backend)s did not answer within %(timeout)s '
                'seconds; the request can be retried.')
    code = 504
    safe = True


class NovaUnavailable(ServiceUnavailable):
    msg_fmt = _('Nova could not tell whether server %(instance_id)s still uses the '
                'attachment (%(reason)s); try again later.')


class DatabaseUnavailable(ServiceUnavailable):
    msg_fmt = _('The database is not reachable; try again later.')


def is_database_unavailable(exc):
    """True for errors that mean the database is unreachable (answer 503, not 500).

    oslo.db wraps connection failures it recognizes into DBConnectionError, but not
    libpq's current wording ("connection to server at ... failed: Connection refused",
    "the database system is shutting down"): any DBAPI OperationalError is the database
    being unavailable or busy, and worth a retry. Here rather than in the database layer
    so that the API, which turns it into a fault, need not import that layer.
    """
    if isinstance(exc, (db_exc.DBConnectionError, db_exc.DBDeadlock,
                        sa.exc.OperationalError, sa.exc.DisconnectionError)):
        return True
    inner = getattr(exc, 'inner_exception', None)
    return isinstance(inner, (sa.exc.OperationalError, sa.exc.DisconnectionError))


class DriverError(AttachdException):
    """A connector driver failed; the message is meant for operators and callers."""

    msg_fmt = _('Backend error: %(reason)s')
    code = 500
    safe = True


class ExportFailure(DriverError):
    msg_fmt = _('Failed to export volume %(volume_id)s: %(reason)s')


class ConnectionFailure(DriverError):
    msg_fmt = _('Failed to connect volume %(volume_id)s: %(reason)s')


class StartupError(AttachdException):
    """A service cannot start as configured; the message names the mistake and its fix
    (the console scripts print it as one line, without a traceback)."""


class ManagerAlreadyRunning(StartupError):
    msg_fmt = _('Another attachd-manager is serving %(server)s (its heartbeat in the '
                'services table is still being updated); refusing to start a second one. '
                'Stop it first, or give this one another [DEFAULT] host.')


class DriverNotFound(StartupError):
    msg_fmt = _('[%(backend)s] connector_driver: there is no connector driver %(name)s; '
                'installed: %(installed)s. Set connector_driver to one of them.')


class ConfigInvalid(StartupError):
    msg_fmt = _('Invalid configuration: %(reason)s')


class VolumeTypeDefaultMisconfigured(AttachdException):
    msg_fmt = _('The request cannot be fulfilled as the default volume type '
                '%(volume_type_name)s cannot be found.')
    code = 500
    safe = True


class AddressInUse(StartupError):
    msg_fmt = _('cannot listen on %(address)s: the address is already in use. Stop the '
                'process that holds it, or set [api] bind_host and bind_port.')


def address_in_use(exc, host, port):
    """:class:`AddressInUse` for ``exc`` when it is a failed bind to an address in use,
    else ``exc`` itself."""
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return AddressInUse(address='%s:%d' % (host, port))
    return exc
