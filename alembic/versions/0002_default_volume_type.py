"""The default volume type ``__DEFAULT__``, as Cinder's db sync creates it.

Volumes created without a type get ``[DEFAULT] default_volume_type`` (``__DEFAULT__`` by
default). Databases that have a live type of that name already are left as they are.

Revision ID: 0002_default_volume_type
Revises: 0001_initial
Create Date: 2026-12-01
"""

import uuid

from oslo_utils import timeutils
import sqlalchemy as sa

from alembic import op

revision = '0002_default_volume_type'
down_revision = '0001_initial'
branch_labels = None
depends_on = None

NAME = '__DEFAULT__'


def upgrade():
    volume_types = sa.table(
        'volume_types', sa.column('id', sa.String), sa.column('name', sa.String),
        sa.column('description', sa.String), sa.column('is_public', sa.Boolean),
        sa.column('created_at', sa.DateTime), sa.column('updated_at', sa.DateTime),
        sa.column('deleted', sa.Boolean))
    connection = op.get_bind()
    exists = connection.execute(sa.select(volume_types.c.id).where(
        volume_types.c.name == NAME, volume_types.c.deleted == sa.false())).first()
    if exists:
        return
    now = timeutils.utcnow().replace(tzinfo=None)
    op.bulk_insert(volume_types, [{
        'id': str(uuid.uuid4()), 'name': NAME, 'description': 'Default Volume Type',
        'is_public': True, 'created_at': now, 'updated_at': now, 'deleted': False}])
