"""The audit log by actor, for the admin page's "last active".

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 23:50:00

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0017'
down_revision: Union[str, Sequence[str], None] = '0016'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_index('ix_audit_events_actor', 'audit_events', ['actor_id', 'created_at'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_audit_events_actor', table_name='audit_events')
