"""External contributors (users of kind "external", named by an imported file) and imported answers (no lease).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 23:50:29.050086

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0018'
down_revision: Union[str, Sequence[str], None] = '0017'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

KIND_FITS = ("kind = 'person' AND email IS NOT NULL AND password_hash IS NOT NULL AND external_project_id IS NULL "
             "OR kind = 'external' AND email IS NULL AND password_hash IS NULL AND external_project_id IS NOT NULL "
             "AND NOT is_active")


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('annotations', schema=None) as batch_op:
        batch_op.alter_column('assignment_id',
               existing_type=sa.INTEGER(),
               nullable=True)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=10), server_default='person', nullable=False))
        batch_op.add_column(sa.Column('external_project_id', sa.Integer(), nullable=True))
        batch_op.alter_column('email',
               existing_type=sa.VARCHAR(length=254),
               nullable=True)
        batch_op.alter_column('password_hash',
               existing_type=sa.VARCHAR(length=255),
               nullable=True)
        batch_op.create_unique_constraint(batch_op.f('uq_users_external_project_id_display_name'), ['external_project_id', 'display_name'])
        batch_op.create_check_constraint('kind_fits', KIND_FITS)



def downgrade() -> None:
    """Downgrade schema."""
    op.execute("DELETE FROM annotations WHERE assignment_id IS NULL")
    op.execute("DELETE FROM users WHERE kind = 'external'")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint('kind_fits', type_='check')
        batch_op.drop_constraint(batch_op.f('uq_users_external_project_id_display_name'), type_='unique')
        batch_op.alter_column('password_hash',
               existing_type=sa.VARCHAR(length=255),
               nullable=False)
        batch_op.alter_column('email',
               existing_type=sa.VARCHAR(length=254),
               nullable=False)
        batch_op.drop_column('external_project_id')
        batch_op.drop_column('kind')

    with op.batch_alter_table('annotations', schema=None) as batch_op:
        batch_op.alter_column('assignment_id',
               existing_type=sa.INTEGER(),
               nullable=False)

