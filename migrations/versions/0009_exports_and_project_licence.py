"""Dataset exports (status, progress, checksum, dataset card), the project's licence, and an index on the
ledger's answers.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 21:23:35.089712

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=20), nullable=False),
    sa.Column('include', sa.String(length=20), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('progress', sa.Float(), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=True),
    sa.Column('storage_key', sa.String(length=300), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=True),
    sa.Column('card', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_exports_created_by_users')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_exports_project_id_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exports'))
    )
    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.create_index('ix_exports_project_fingerprint', ['project_id', 'fingerprint'], unique=False)

    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.add_column(sa.Column('licence', sa.String(length=200), server_default='', nullable=False))

    # What an answer earned, looked up by the exports a page at a time.
    op.create_index(op.f('ix_ledger_transactions_annotation_id'), 'ledger_transactions', ['annotation_id'],
                    unique=False)



def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f('ix_ledger_transactions_annotation_id'), table_name='ledger_transactions')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_column('licence')

    with op.batch_alter_table('exports', schema=None) as batch_op:
        batch_op.drop_index('ix_exports_project_fingerprint')

    op.drop_table('exports')
