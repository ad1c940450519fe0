"""assignments: index by annotator and project

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 18:09:32.377836

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """The latest assignment of an annotator in a project: their live lease and their place in the ring."""
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignments_live_user'))
        batch_op.create_index('ix_assignments_user_project', ['user_id', 'project_id', 'id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_assignments_user_project')
        batch_op.create_index(batch_op.f('ix_assignments_live_user'), ['user_id', 'project_id'], unique=False,
                              sqlite_where=sa.text("status = 'leased'"), postgresql_where=sa.text("status = 'leased'"))

