"""cluster_name on services and volumes: managers of one cluster serve a backend together.

A clustered manager records ``<cluster>@<backend>`` on its service row, and a volume placed
on it records the same name: the API sends the volume's requests to that cluster's queue,
which every live member consumes (Cinder's columns of the same name and meaning).

Revision ID: 0006_cluster_name
Revises: 0005_fences
Create Date: 2027-01-20
"""

import sqlalchemy as sa

from alembic import op

revision = '0006_cluster_name'
down_revision = '0005_fences'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('services', sa.Column('cluster_name', sa.String(255)))
    op.add_column('volumes', sa.Column('cluster_name', sa.String(255)))
    op.create_index('volumes_cluster_name_idx', 'volumes', ['cluster_name'])


def downgrade():
    # The members' cluster is forgotten: each manager serves its own host's volumes again.
    op.drop_index('volumes_cluster_name_idx', table_name='volumes')
    op.drop_column('volumes', 'cluster_name')
    op.drop_column('services', 'cluster_name')
