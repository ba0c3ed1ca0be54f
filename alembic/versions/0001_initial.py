"""Initial schema: services, volume types, volumes, attachments and attachment specs.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from alembic import op

revision = '0001_initial'
down_revision = None
branch_labels = None
depends_on = None

LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql')


def _common():
    return [
        sa.Column('created_at', sa.DateTime),
        sa.Column('updated_at', sa.DateTime),
        sa.Column('deleted_at', sa.DateTime),
        sa.Column('deleted', sa.Boolean, nullable=False),
    ]


def upgrade():
    op.create_table(
        'services',
        *_common(),
        sa.Column('id', sa.Integer, primary_key=True),
        sa.Column('uuid', sa.String(36), nullable=False),
        sa.Column('host', sa.String(255), nullable=False),
        sa.Column('binary', sa.String(255), nullable=False),
        sa.Column('backend', sa.String(255)),
        sa.Column('topic', sa.String(255)),
        sa.Column('report_count', sa.Integer, nullable=False),
        sa.Column('disabled', sa.Boolean, nullable=False),
        sa.Column('heartbeat_at', sa.DateTime),
        sa.Column('rpc_version', sa.String(36)),
        sa.Column('object_version', sa.String(36)),
        sa.Column('capabilities', sa.Text),
        sa.UniqueConstraint('uuid', name='uniq_services0uuid'),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_index('services_host_binary_backend_idx', 'services',
                    ['host', 'binary', 'backend'])

    op.create_table(
        'volume_types',
        *_common(),
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('name', sa.String(255), nullable=False),
        sa.Column('description', sa.String(255)),
        sa.Column('is_public', sa.Boolean, nullable=False),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_index('volume_types_name_deleted_idx', 'volume_types', ['name', 'deleted'])

    op.create_table(
        'volume_type_extra_specs',
        *_common(),
        sa.Column('id', sa.Integer, primary_key=True),
        sa.Column('volume_type_id', sa.String(36), sa.ForeignKey('volume_types.id'),
                  nullable=False),
        sa.Column('key', sa.String(255), nullable=False),
        sa.Column('value', sa.String(255)),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_index('volume_type_extra_specs_type_key_idx', 'volume_type_extra_specs',
                    ['volume_type_id', 'key'])

    op.create_table(
        'volumes',
        *_common(),
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('project_id', sa.String(255)),
        sa.Column('user_id', sa.String(255)),
        sa.Column('name', sa.String(255)),
        sa.Column('description', sa.String(255)),
        sa.Column('size', sa.Integer, nullable=False),
        sa.Column('availability_zone', sa.String(255)),
        sa.Column('status', sa.String(255), nullable=False),
        sa.Column('attach_status', sa.String(255), nullable=False),
        sa.Column('migration_status', sa.String(255)),
        sa.Column('previous_status', sa.String(255)),
        sa.Column('multiattach', sa.Boolean, nullable=False),
        sa.Column('bootable', sa.Boolean, nullable=False),
        sa.Column('volume_type_id', sa.String(36), sa.ForeignKey('volume_types.id')),
        sa.Column('host', sa.String(255)),
        sa.Column('provider_location', sa.String(255)),
        sa.Column('provider_auth', sa.String(255)),
        sa.Column('shared_targets', sa.Boolean),
        sa.Column('service_uuid', sa.String(36)),
        sa.Column('encryption_key_id', sa.String(36)),
        sa.Column('launched_at', sa.DateTime),
        sa.Column('terminated_at', sa.DateTime),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_index('volumes_project_id_deleted_idx', 'volumes', ['project_id', 'deleted'])
    op.create_index('volumes_status_idx', 'volumes', ['status'])
    op.create_index('volumes_host_idx', 'volumes', ['host'])
    op.create_index('volumes_service_uuid_idx', 'volumes', ['service_uuid', 'deleted'])
    op.create_index('volumes_volume_type_id_idx', 'volumes', ['volume_type_id'])

    for table in ('volume_metadata', 'volume_admin_metadata'):
        op.create_table(
            table,
            *_common(),
            sa.Column('id', sa.Integer, primary_key=True),
            sa.Column('volume_id', sa.String(36), sa.ForeignKey('volumes.id'),
                      nullable=False),
            sa.Column('key', sa.String(255), nullable=False),
            sa.Column('value', sa.String(255)),
            mysql_engine='InnoDB', mysql_charset='utf8mb4')
        op.create_index('%s_volume_id_idx' % table, table, ['volume_id', 'deleted'])

    op.create_table(
        'volume_attachment',
        *_common(),
        sa.Column('id', sa.String(36), primary_key=True),
        sa.Column('volume_id', sa.String(36), sa.ForeignKey('volumes.id'), nullable=False),
        sa.Column('attached_host', sa.String(255)),
        sa.Column('instance_uuid', sa.String(36)),
        sa.Column('mountpoint', sa.String(255)),
        sa.Column('attach_time', sa.DateTime),
        sa.Column('detach_time', sa.DateTime),
        sa.Column('attach_mode', sa.String(36)),
        sa.Column('attach_status', sa.String(255)),
        sa.Column('connection_info', LongText),
        sa.Column('connector', LongText),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_index('volume_attachment_volume_id_deleted_idx', 'volume_attachment',
                    ['volume_id', 'deleted'])
    op.create_index('volume_attachment_instance_uuid_idx', 'volume_attachment',
                    ['instance_uuid', 'deleted'])
    op.create_index('volume_attachment_attach_status_idx', 'volume_attachment',
                    ['attach_status', 'deleted'])
    op.create_index('volume_attachment_created_at_id_idx', 'volume_attachment',
                    ['created_at', 'id'])

    op.create_table(
        'attachment_specs',
        *_common(),
        sa.Column('id', sa.Integer, primary_key=True),
        sa.Column('attachment_id', sa.String(36), sa.ForeignKey('volume_attachment.id'),
                  nullable=False),
        sa.Column('key', sa.Text, nullable=False),
        sa.Column('value', LongText),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_index('attachment_specs_attachment_id_idx', 'attachment_specs',
                    ['attachment_id', 'deleted'])
