"""The connector lives in ``attachment_specs`` only: drop ``volume_attachment.connector``.

Until now the connector was written twice, as one JSON document in
``volume_attachment.connector`` and key by key in ``attachment_specs``, in the same
transaction. Before the column goes, every attachment that has a connector in it but no
``attachment_specs`` rows (written by hand or by a tool that knew the column only) gets its
rows, soft-deleted with the attachment when it is. The downgrade puts the column back and
fills it from the rows: a live attachment from its live rows, a deleted one from all its
rows, the newest value of each key winning.

Revision ID: 0003_connector_specs_only
Revises: 0002_default_volume_type
Create Date: 2026-12-04
"""

from oslo_serialization import jsonutils
import sqlalchemy as sa
from sqlalchemy.dialects import mysql

from alembic import op

revision = '0003_connector_specs_only'
down_revision = '0002_default_volume_type'
branch_labels = None
depends_on = None

LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), 'mysql')

_attachments = sa.table(
    'volume_attachment', sa.column('id', sa.String), sa.column('connector', sa.Text),
    sa.column('deleted', sa.Boolean), sa.column('deleted_at', sa.DateTime),
    sa.column('created_at', sa.DateTime))
_specs = sa.table(
    'attachment_specs', sa.column('id', sa.Integer),
    sa.column('attachment_id', sa.String), sa.column('key', sa.Text),
    sa.column('value', sa.Text), sa.column('created_at', sa.DateTime),
    sa.column('deleted', sa.Boolean), sa.column('deleted_at', sa.DateTime))


def upgrade():
    connection = op.get_bind()
    has_specs = sa.exists().where(_specs.c.attachment_id == _attachments.c.id)
    rows = connection.execute(
        sa.select(_attachments.c.id, _attachments.c.connector, _attachments.c.deleted,
                  _attachments.c.deleted_at, _attachments.c.created_at)
        .where(_attachments.c.connector.is_not(None), ~has_specs)).all()
    specs = []
    for row in rows:
        connector = jsonutils.loads(row.connector) if row.connector else None
        if not isinstance(connector, dict):
            continue
        specs.extend({'attachment_id': row.id, 'key': key, 'value': jsonutils.dumps(value),
                      'created_at': row.created_at, 'deleted': row.deleted,
                      'deleted_at': row.deleted_at}
                     for key, value in connector.items())
    if specs:
        op.bulk_insert(_specs, specs)
    # A plain ALTER TABLE ... DROP COLUMN, also on SQLite (3.35 and later): a batch copy of
    # the table would drop the old one, which SQLite refuses while attachment_specs rows
    # reference it and foreign keys are enforced.
    op.drop_column('volume_attachment', 'connector')


def downgrade():
    op.add_column('volume_attachment', sa.Column('connector', LongText, nullable=True))
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(_specs.c.attachment_id, _specs.c.key, _specs.c.value,
                  _specs.c.deleted, _attachments.c.deleted.label('attachment_deleted'))
        .join(_attachments, _attachments.c.id == _specs.c.attachment_id)
        .order_by(_specs.c.attachment_id, _specs.c.created_at, _specs.c.id)).all()
    connectors = {}
    for row in rows:
        if row.deleted and not row.attachment_deleted:
            # A live attachment's connector is its live rows; the deleted ones are
            # connections it had before.
            continue
        connectors.setdefault(row.attachment_id, {})[row.key] = jsonutils.loads(row.value)
    for attachment_id, connector in connectors.items():
        connection.execute(_attachments.update()
                           .where(_attachments.c.id == attachment_id)
                           .values(connector=jsonutils.dumps(connector)))
