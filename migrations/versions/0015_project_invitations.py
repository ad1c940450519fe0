"""Invitations to a project for addresses without an account, accepted at sign-up.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 23:10:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('project_invitations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('invited_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['invited_by'], ['users.id'], name=op.f('fk_project_invitations_invited_by_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_project_invitations_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_project_invitations_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_invitations')),
    sa.UniqueConstraint('project_id', 'email', name=op.f('uq_project_invitations_project_id_email'))
    )
    with op.batch_alter_table('project_invitations', schema=None) as batch_op:
        batch_op.create_index('ix_project_invitations_email', ['email'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('project_invitations', schema=None) as batch_op:
        batch_op.drop_index('ix_project_invitations_email')

    op.drop_table('project_invitations')
