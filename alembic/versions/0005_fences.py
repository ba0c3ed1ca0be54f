"""Fences: hosts cut off from every volume (``POST /v3/{project_id}/fences``).

Revision ID: 0005_fences
Revises: 0004_idempotency_keys
Create Date: 2026-12-04
"""

from oslo_utils import timeutils
import sqlalchemy as sa

from alembic import op

revision = '0005_fences'
down_revision = '0004_idempotency_keys'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'fences',
        sa.Column('host', sa.String(255), primary_key=True),
        sa.Column('created_at', sa.DateTime),
        mysql_engine='InnoDB',
        mysql_charset='utf8mb4',
    )


def downgrade():
    # The fences go with the table: their hosts are connected again. A release before this
    # one has no 'fenced' status, so the fenced attachments (whose connections were revoked
    # and which no longer hold their volumes) are deleted, as deleting them through the API
    # would have.
    attachments = sa.table('volume_attachment', sa.column('attach_status'),
                           sa.column('deleted'), sa.column('deleted_at'),
                           sa.column('detach_time'), sa.column('updated_at'))
    now = timeutils.utcnow()
    op.execute(sa.update(attachments).where(
        attachments.c.attach_status == 'fenced', attachments.c.deleted == sa.false()).values(
        attach_status='detached', deleted=True, deleted_at=now, detach_time=now,
        updated_at=now))
    op.drop_table('fences')
