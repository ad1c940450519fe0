"""The ledger's transactions by task, for the task viewer's ledger lines.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 23:30:00

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0016'
down_revision: Union[str, Sequence[str], None] = '0015'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema (a plain CREATE INDEX: the append-only table is never rebuilt)."""
    op.create_index('ix_ledger_transactions_task', 'ledger_transactions', ['project_id', 'task_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_ledger_transactions_task', table_name='ledger_transactions')
