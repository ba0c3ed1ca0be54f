"""SQLAlchemy models of attachd's tables.

The schema is created and upgraded by the alembic migrations in the top-level ``alembic/``
folder; ``attachd/tests/functional/db/test_migrations.py`` proves the two agree.
"""

from oslo_db.sqlalchemy import models
import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects import mysql
from sqlalchemy.ext import compiler
from sqlalchemy.sql import functions

# Connector values (FC wwpns lists, NVMe host ids...) and connection_info can be long: Text on
# PostgreSQL and SQLite, MEDIUMTEXT on MySQL, whose TEXT stops at 64 KiB.
LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql')


class AttachdBase(models.TimestampMixin, models.ModelBase):
    """Timestamps and a boolean soft-delete flag, as Cinder's tables have."""

    deleted_at = sa.Column(sa.DateTime)
    deleted = sa.Column(sa.Boolean, nullable=False, default=False)


BASE = orm.declarative_base(cls=AttachdBase)


class Service(BASE):
    """A running attachd process: managers register and heartbeat here."""

    __tablename__ = 'services'
    __table_args__ = (
        sa.Index('services_host_binary_backend_idx', 'host', 'binary', 'backend'),
        sa.UniqueConstraint('uuid', name='uniq_services0uuid'),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    uuid = sa.Column(sa.String(36), nullable=False)
    host = sa.Column(sa.String(255), nullable=False)
    binary = sa.Column(sa.String(255), nullable=False)
    backend = sa.Column(sa.String(255))
    cluster_name = sa.Column(sa.String(255))
    topic = sa.Column(sa.String(255))
    report_count = sa.Column(sa.Integer, nullable=False, default=0)
    disabled = sa.Column(sa.Boolean, nullable=False, default=False)
    heartbeat_at = sa.Column(sa.DateTime)
    rpc_version = sa.Column(sa.String(36))
    object_version = sa.Column(sa.String(36))
    capabilities = sa.Column(sa.Text)


class VolumeType(BASE):
    __tablename__ = 'volume_types'
    __table_args__ = (
        sa.Index('volume_types_name_deleted_idx', 'name', 'deleted'),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    name = sa.Column(sa.String(255), nullable=False)
    description = sa.Column(sa.String(255))
    is_public = sa.Column(sa.Boolean, nullable=False, default=True)

    extra_specs = orm.relationship(
        'VolumeTypeExtraSpec', lazy='selectin',
        primaryjoin='and_(VolumeType.id == VolumeTypeExtraSpec.volume_type_id, '
                    'VolumeTypeExtraSpec.deleted == false())')


class VolumeTypeExtraSpec(BASE):
    __tablename__ = 'volume_type_extra_specs'
    __table_args__ = (
        sa.Index('volume_type_extra_specs_type_key_idx', 'volume_type_id', 'key'),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    volume_type_id = sa.Column(sa.String(36), sa.ForeignKey('volume_types.id'),
                               nullable=False)
    key = sa.Column(sa.String(255), nullable=False)
    value = sa.Column(sa.String(255))


class Volume(BASE):
    __tablename__ = 'volumes'
    __table_args__ = (
        sa.Index('volumes_project_id_deleted_idx', 'project_id', 'deleted'),
        sa.Index('volumes_status_idx', 'status'),
        sa.Index('volumes_host_idx', 'host'),
        sa.Index('volumes_cluster_name_idx', 'cluster_name'),
        sa.Index('volumes_service_uuid_idx', 'service_uuid', 'deleted'),
        sa.Index('volumes_volume_type_id_idx', 'volume_type_id'),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    project_id = sa.Column(sa.String(255))
    user_id = sa.Column(sa.String(255))
    name = sa.Column(sa.String(255))
    description = sa.Column(sa.String(255))
    size = sa.Column(sa.Integer, nullable=False)
    availability_zone = sa.Column(sa.String(255))
    status = sa.Column(sa.String(255), nullable=False)
    attach_status = sa.Column(sa.String(255), nullable=False)
    migration_status = sa.Column(sa.String(255))
    previous_status = sa.Column(sa.String(255))
    multiattach = sa.Column(sa.Boolean, nullable=False, default=False)
    bootable = sa.Column(sa.Boolean, nullable=False, default=False)
    volume_type_id = sa.Column(sa.String(36), sa.ForeignKey('volume_types.id'))
    host = sa.Column(sa.String(255))
    cluster_name = sa.Column(sa.String(255))
    provider_location = sa.Column(sa.String(255))
    provider_auth = sa.Column(sa.String(255))
    shared_targets = sa.Column(sa.Boolean, nullable=True, default=True)
    service_uuid = sa.Column(sa.String(36))
    encryption_key_id = sa.Column(sa.String(36))
    launched_at = sa.Column(sa.DateTime)
    terminated_at = sa.Column(sa.DateTime)

    volume_type = orm.relationship(VolumeType, lazy='joined', viewonly=True)


class VolumeMetadata(BASE):
    """User metadata of a volume (key/value)."""

    __tablename__ = 'volume_metadata'
    __table_args__ = (
        sa.Index('volume_metadata_volume_id_idx', 'volume_id', 'deleted'),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    volume_id = sa.Column(sa.String(36), sa.ForeignKey('volumes.id'), nullable=False)
    key = sa.Column(sa.String(255), nullable=False)
    value = sa.Column(sa.String(255))


class VolumeAdminMetadata(BASE):
    """Admin-only metadata of a volume: ``readonly``, ``attached_mode``, ``format``."""

    __tablename__ = 'volume_admin_metadata'
    __table_args__ = (
        sa.Index('volume_admin_metadata_volume_id_idx', 'volume_id', 'deleted'),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    volume_id = sa.Column(sa.String(36), sa.ForeignKey('volumes.id'), nullable=False)
    key = sa.Column(sa.String(255), nullable=False)
    value = sa.Column(sa.String(255))


class VolumeAttachment(BASE):
    __tablename__ = 'volume_attachment'
    __table_args__ = (
        sa.Index('volume_attachment_volume_id_deleted_idx', 'volume_id', 'deleted'),
        sa.Index('volume_attachment_instance_uuid_idx', 'instance_uuid', 'deleted'),
        sa.Index('volume_attachment_attach_status_idx', 'attach_status', 'deleted'),
        sa.Index('volume_attachment_created_at_id_idx', 'created_at', 'id'),
    )

    id = sa.Column(sa.String(36), primary_key=True)
    volume_id = sa.Column(sa.String(36), sa.ForeignKey('volumes.id'), nullable=False)
    attached_host = sa.Column(sa.String(255))
    instance_uuid = sa.Column(sa.String(36))
    mountpoint = sa.Column(sa.String(255))
    attach_time = sa.Column(sa.DateTime)
    detach_time = sa.Column(sa.DateTime)
    attach_mode = sa.Column(sa.String(36))
    attach_status = sa.Column(sa.String(255))
    connection_info = sa.Column(LongText)


class AttachmentSpec(BASE):
    """The host connector of an attachment, one row per key: the only place it is stored.

    Values are stored as JSON text so lists (FC ``wwpns``) and numbers round-trip; keys and
    values have no length limit. An attachment's live rows are its connector (none: it has
    no connection); ``VolumeAttachment.connector`` reads them back in the statement that
    reads the attachment.
    """

    __tablename__ = 'attachment_specs'
    __table_args__ = (
        sa.Index('attachment_specs_attachment_id_idx', 'attachment_id', 'deleted'),
    )

    id = sa.Column(sa.Integer, primary_key=True)
    attachment_id = sa.Column(sa.String(36), sa.ForeignKey('volume_attachment.id'),
                              nullable=False)
    key = sa.Column(sa.Text, nullable=False)
    value = sa.Column(LongText)


class IdempotencyKey(BASE):
    """A create request sent with an ``Idempotency-Key`` header, and the answer to replay.

    One row per key of a project's user (the unique constraint makes the first insert win
    the key); ``status`` is ``in-progress`` while the first request runs, ``completed``
    once its answer is stored. ``expires_at`` is the in-progress request's lease, then the
    end of the replay window (``[api] idempotency_ttl``). Rows are deleted, not soft-deleted:
    an expired key is free again.
    """

    __tablename__ = 'idempotency_keys'
    __table_args__ = (
        sa.UniqueConstraint('project_id', 'user_id', 'idempotency_key',
                            name='uniq_idempotency_keys0project_id0user_id0key'),
        sa.Index('idempotency_keys_expires_at_idx', 'expires_at'),
    )
    # The soft-delete columns of the base class have no use here.
    deleted = None
    deleted_at = None

    id = sa.Column(sa.Integer, primary_key=True)
    project_id = sa.Column(sa.String(255), nullable=False)
    user_id = sa.Column(sa.String(255), nullable=False)
    idempotency_key = sa.Column(sa.String(255), nullable=False)
    fingerprint = sa.Column(sa.String(64), nullable=False)
    claim_id = sa.Column(sa.String(36), nullable=False)
    status = sa.Column(sa.String(16), nullable=False)
    expires_at = sa.Column(sa.DateTime, nullable=False)
    response_status = sa.Column(sa.Integer)
    response_headers = sa.Column(sa.Text)
    response_body = sa.Column(LongText)


class Fence(BASE):
    """A host cut off from every volume (``POST /fences``): no connection is made for it
    while the row exists.

    One row per host, the host being the key: the insert itself is the compare-and-swap
    that makes concurrent fences of one host agree on one fence. Lifting the fence deletes
    the row (no soft delete, which would need the key to include a deletion marker); its
    history is in the fence notifications.
    """

    __tablename__ = 'fences'

    host = sa.Column(sa.String(255), primary_key=True)
    # A fence is created and deleted, never changed.
    updated_at = None
    deleted = None
    deleted_at = None


class object_agg(functions.FunctionElement):  # noqa: N801 (an SQL function's name)
    """``object_agg(key, value)``: aggregate key/value rows into one JSON object text
    whose values are the stored texts, NULL for no rows. Each database spells it its
    own way; SQLite's gives ``{}`` for no rows, turned into NULL as the others give."""

    type = sa.Text()
    name = 'object_agg'
    inherit_cache = True


@compiler.compiles(object_agg, 'postgresql')
def _object_agg_postgresql(element, compiler, **kw):
    return 'CAST(json_object_agg(%s) AS TEXT)' % compiler.process(element.clauses, **kw)


@compiler.compiles(object_agg, 'mysql')
def _object_agg_mysql(element, compiler, **kw):
    return 'JSON_OBJECTAGG(%s)' % compiler.process(element.clauses, **kw)


@compiler.compiles(object_agg, 'sqlite')
def _object_agg_sqlite(element, compiler, **kw):
    return "NULLIF(json_group_object(%s), '{}')" % compiler.process(element.clauses, **kw)


def connector_specs(attachment_id_column):
    """A scalar subquery: the live ``attachment_specs`` of the attachment whose id is
    ``attachment_id_column``, as one ``object_agg`` text (NULL: no connector)."""
    specs = AttachmentSpec.__table__
    return (sa.select(object_agg(specs.c.key, specs.c.value))
            .where(specs.c.attachment_id == attachment_id_column,
                   specs.c.deleted == sa.false())
            .scalar_subquery())


# Read-only: written as attachment_specs rows (attachd.db.api).
VolumeAttachment.connector = orm.column_property(
    connector_specs(VolumeAttachment.__table__.c.id))

