"""Idempotency keys: the create requests sent with an ``Idempotency-Key`` header.

One row per key of a project's user; the unique constraint is what makes the first of two
concurrent requests with the same key the only one that runs (``attachd.db.idempotency``).
``expires_at`` is indexed for the purge.

Revision ID: 0004_idempotency_keys
Revises: 0003_connector_specs_only
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from alembic import op

revision = '0004_idempotency_keys'
down_revision = '0003_connector_specs_only'
branch_labels = None
depends_on = None

LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql')


def upgrade():
    op.create_table(
        'idempotency_keys',
        sa.Column('created_at', sa.DateTime),
        sa.Column('updated_at', sa.DateTime),
        sa.Column('id', sa.Integer, primary_key=True),
        # 3 x 255 utf8mb4 characters: 3060 bytes, within InnoDB's 3072-byte index key.
        sa.Column('project_id', sa.String(255), nullable=False),
        sa.Column('user_id', sa.String(255), nullable=False),
        sa.Column('idempotency_key', sa.String(255), nullable=False),
        sa.Column('fingerprint', sa.String(64), nullable=False),
        sa.Column('claim_id', sa.String(36), nullable=False),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('expires_at', sa.DateTime, nullable=False),
        sa.Column('response_status', sa.Integer),
        sa.Column('response_headers', sa.Text),
        sa.Column('response_body', LongText),
        sa.UniqueConstraint('project_id', 'user_id', 'idempotency_key',
                            name='uniq_idempotency_keys0project_id0user_id0key'),
        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    op.create_index('idempotency_keys_expires_at_idx', 'idempotency_keys', ['expires_at'])


def downgrade():
    # The stored answers go with the table: after a downgrade a retried create runs again.
    op.drop_index('idempotency_keys_expires_at_idx', table_name='idempotency_keys')
    op.drop_table('idempotency_keys')
