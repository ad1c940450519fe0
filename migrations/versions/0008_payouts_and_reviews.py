"""Payouts (a contributor's request, an admin's decision) and reviewers' verdicts on answers; one ledger
account per holder even when project or user is NULL (the unique index is over coalesce(.., 0)).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 20:34:08.359448

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('ledger_accounts', schema=None) as batch_op:
        batch_op.drop_constraint('uq_ledger_accounts_kind_project_id_user_id_currency', type_='unique')
    op.create_index('uq_ledger_accounts_holder', 'ledger_accounts',
                    ['kind', sa.text('coalesce(project_id, 0)'), sa.text('coalesce(user_id, 0)'), 'currency'],
                    unique=True)
    op.create_table('payouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('requested_by_transaction_id', sa.Integer(), nullable=False),
    sa.Column('decided_by_transaction_id', sa.Integer(), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_payouts_decided_by_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['decided_by_transaction_id'], ['ledger_transactions.id'], name=op.f('fk_payouts_decided_by_transaction_id_ledger_transactions')),
    sa.ForeignKeyConstraint(['requested_by_transaction_id'], ['ledger_transactions.id'], name=op.f('fk_payouts_requested_by_transaction_id_ledger_transactions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_payouts_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payouts')),
    sa.UniqueConstraint('requested_by_transaction_id', name=op.f('uq_payouts_requested_by_transaction_id'))
    )
    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.create_index('ix_payouts_status', ['status', 'id'], unique=False)
        batch_op.create_index('ix_payouts_user', ['user_id', 'id'], unique=False)

    op.create_table('reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('annotation_id', sa.Integer(), nullable=False),
    sa.Column('reviewer_id', sa.Integer(), nullable=False),
    sa.Column('verdict', sa.String(length=10), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['annotation_id'], ['annotations.id'], name=op.f('fk_reviews_annotation_id_annotations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_reviews_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reviewer_id'], ['users.id'], name=op.f('fk_reviews_reviewer_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reviews')),
    sa.UniqueConstraint('annotation_id', name=op.f('uq_reviews_annotation_id'))
    )
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reviews_project_id'), ['project_id'], unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reviews_project_id'))

    op.drop_table('reviews')
    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.drop_index('ix_payouts_user')
        batch_op.drop_index('ix_payouts_status')

    op.drop_table('payouts')
    op.drop_index('uq_ledger_accounts_holder', table_name='ledger_accounts')
    with op.batch_alter_table('ledger_accounts', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_ledger_accounts_kind_project_id_user_id_currency',
                                          ['kind', 'project_id', 'user_id', 'currency'])
