"""Skills per subtree (skills, skill_sets), skill routing (projects.routing, tasks.route_label and route_need),
the expert tier a lease is paid at (assignments.tier), standings per subtree from scoped gold (subtree_standings).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 12:53:13.916356

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0019'
down_revision: Union[str, Sequence[str], None] = '0018'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('skill_sets',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('annotations', sa.Integer(), nullable=False),
    sa.Column('last_annotation_id', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_skill_sets_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', name=op.f('pk_skill_sets'))
    )
    op.create_table('skills',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('answers', sa.Integer(), nullable=False),
    sa.Column('accuracy', sa.Float(), nullable=False),
    sa.Column('low', sa.Float(), nullable=False),
    sa.Column('high', sa.Float(), nullable=False),
    sa.Column('last_evidence_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_skills_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_skills_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'user_id', 'label', name=op.f('pk_skills'))
    )
    op.create_table('subtree_standings',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('gold_answered', sa.Integer(), nullable=False),
    sa.Column('gold_credit', sa.Float(), nullable=False),
    sa.Column('disqualified', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_subtree_standings_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_subtree_standings_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'user_id', 'label', name=op.f('pk_subtree_standings'))
    )
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('routing', sa.String(length=10), server_default='ring', nullable=False))

    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tier', sa.Integer(), nullable=True))

    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('route_label', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('route_need', sa.Float(), nullable=True))
        batch_op.create_index('ix_tasks_routed', ['project_id', 'route_label'], unique=False, postgresql_where=sa.text("status = 'open' AND NOT is_gold AND leased + submitted > 0"), sqlite_where=sa.text("status = 'open' AND NOT is_gold AND leased + submitted > 0"))



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_tasks_routed', postgresql_where=sa.text("status = 'open' AND NOT is_gold AND leased + submitted > 0"), sqlite_where=sa.text("status = 'open' AND NOT is_gold AND leased + submitted > 0"))
        batch_op.drop_column('route_need')
        batch_op.drop_column('route_label')

    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_column('tier')

    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('routing')

    op.drop_table('subtree_standings')
    op.drop_table('skills')
    op.drop_table('skill_sets')
