"""Dataset releases with their contribution shares (releases, release_shares), revenue split through the ledger
(revenues), revenue-sharing terms (projects.terms, terms_acceptances).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 16:23:50.193775

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0021'
down_revision: Union[str, Sequence[str], None] = '0020'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('terms_acceptances',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_terms_acceptances_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_terms_acceptances_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'user_id', 'version', name=op.f('pk_terms_acceptances'))
    )
    op.create_table('releases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('export_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('licence', sa.String(length=200), nullable=False),
    sa.Column('terms_version', sa.Integer(), nullable=False),
    sa.Column('card', sa.JSON(), nullable=False),
    sa.Column('share_scale', sa.BigInteger(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_releases_created_by_users')),
    sa.ForeignKeyConstraint(['export_id'], ['exports.id'], name=op.f('fk_releases_export_id_exports'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_releases_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_releases')),
    sa.UniqueConstraint('project_id', 'name', name=op.f('uq_releases_project_id_name'))
    )
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_releases_project_id'), ['project_id'], unique=False)

    op.create_table('release_shares',
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('share', sa.BigInteger(), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('answers', sa.Integer(), nullable=False),
    sa.Column('fixes', sa.Integer(), nullable=False),
    sa.Column('terms_version', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['release_id'], ['releases.id'], name=op.f('fk_release_shares_release_id_releases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_release_shares_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('release_id', 'user_id', name=op.f('pk_release_shares'))
    )
    with op.batch_alter_table('release_shares', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_release_shares_user_id'), ['user_id'], unique=False)

    op.create_table('revenues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('release_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('fee', sa.BigInteger(), nullable=False),
    sa.Column('memo', sa.Text(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('transaction_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_revenues_created_by_users')),
    sa.ForeignKeyConstraint(['release_id'], ['releases.id'], name=op.f('fk_revenues_release_id_releases'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['transaction_id'], ['ledger_transactions.id'], name=op.f('fk_revenues_transaction_id_ledger_transactions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_revenues'))
    )
    with op.batch_alter_table('revenues', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_revenues_release_id'), ['release_id'], unique=False)

    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('terms', sa.JSON(), nullable=True))



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('terms')

    with op.batch_alter_table('revenues', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_revenues_release_id'))

    op.drop_table('revenues')
    with op.batch_alter_table('release_shares', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_release_shares_user_id'))

    op.drop_table('release_shares')
    with op.batch_alter_table('releases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_releases_project_id'))

    op.drop_table('releases')
    op.drop_table('terms_acceptances')
