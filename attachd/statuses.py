"""The status vocabularies: the one place statuses are spelled.

A neutral module: the database layer (which computes a volume's status from its attachments
in SQL) and the objects (whose enum fields are made from these lists) both import it, and it
imports nothing of attachd.
"""


class VolumeStatus:
    CREATING = 'creating'
    AVAILABLE = 'available'
    DELETING = 'deleting'
    ERROR = 'error'
    ERROR_DELETING = 'error_deleting'
    ERROR_MANAGING = 'error_managing'
    MANAGING = 'managing'
    ATTACHING = 'attaching'
    IN_USE = 'in-use'
    DETACHING = 'detaching'
    MAINTENANCE = 'maintenance'
    RESTORING_BACKUP = 'restoring-backup'
    ERROR_RESTORING = 'error_restoring'
    RESERVED = 'reserved'
    AWAITING_TRANSFER = 'awaiting-transfer'
    BACKING_UP = 'backing-up'
    ERROR_BACKING_UP = 'error_backing-up'
    ERROR_EXTENDING = 'error_extending'
    DOWNLOADING = 'downloading'
    UPLOADING = 'uploading'
    RETYPING = 'retyping'
    EXTENDING = 'extending'

    ALL = (CREATING, AVAILABLE, DELETING, ERROR, ERROR_DELETING, ERROR_MANAGING, MANAGING,
           ATTACHING, IN_USE, DETACHING, MAINTENANCE, RESTORING_BACKUP, ERROR_RESTORING,
           RESERVED, AWAITING_TRANSFER, BACKING_UP, ERROR_BACKING_UP, ERROR_EXTENDING,
           DOWNLOADING, UPLOADING, RETYPING, EXTENDING)

    # Statuses that are a function of the volume's attachments: attachd recomputes them from
    # the live attachment rows after every attachment change. Any other status (creating,
    # error, maintenance, downloading...) belongs to another flow and is left alone.
    ATTACHMENT_DRIVEN = (AVAILABLE, RESERVED, ATTACHING, IN_USE, DETACHING)

    # Where a reservation may start from (Cinder's _attachment_reserve).
    RESERVABLE = (AVAILABLE, DOWNLOADING)
    # A multiattach volume also accepts a new reservation while another attachment of it is
    # anywhere in its life cycle: Cinder answers 400 there and makes callers retry.
    RESERVABLE_MULTIATTACH = (AVAILABLE, IN_USE, DOWNLOADING, RESERVED, ATTACHING, DETACHING)
    # The same-instance override (live migration, resize, shelve) applies from these.
    OVERRIDE = (IN_USE, RESERVED)
    # Where a volume may be deleted from.
    DELETABLE = (AVAILABLE, ERROR, ERROR_RESTORING, ERROR_EXTENDING, ERROR_MANAGING)


class VolumeAttachStatus:
    ATTACHED = 'attached'
    ATTACHING = 'attaching'
    DETACHED = 'detached'
    RESERVED = 'reserved'
    ERROR_ATTACHING = 'error_attaching'
    ERROR_DETACHING = 'error_detaching'
    DELETED = 'deleted'
    DETACHING = 'detaching'
    # attachd's own: the attachment's host was fenced (attachd.volume.fencing). Its
    # connection was revoked and it no longer holds the volume; it waits to be deleted.
    FENCED = 'fenced'

    ALL = (ATTACHED, ATTACHING, DETACHED, RESERVED, ERROR_ATTACHING, ERROR_DETACHING,
           DELETED, DETACHING, FENCED)

    # Precedence when several attachments decide a volume's attach_status: the first one
    # present wins (Cinder takes the alphabetically smallest, which is this order).
    PRECEDENCE = (ATTACHED, ATTACHING, DETACHING, RESERVED)


class AttachMode:
    """Attachment access modes; NULL is Cinder's literal "no preference" value."""

    RW = 'rw'
    RO = 'ro'
    NULL = 'null'
    ALL = (RW, RO)


class IdempotencyKeyStatus:
    """The state of an ``Idempotency-Key``: its first request runs, or its answer is
    stored for replay."""

    IN_PROGRESS = 'in-progress'
    COMPLETED = 'completed'

    ALL = (IN_PROGRESS, COMPLETED)


def volume_status_for(attach_status):
    """The volume status that goes with a recomputed volume ``attach_status``."""
    if attach_status == VolumeAttachStatus.ATTACHED:
        return VolumeStatus.IN_USE
    if attach_status == VolumeAttachStatus.DETACHED:
        return VolumeStatus.AVAILABLE
    return attach_status
