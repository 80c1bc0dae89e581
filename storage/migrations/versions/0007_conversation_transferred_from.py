"""conversations.transferred_from: a transferred conversation is not offered back to its agent

A transfer queued the conversation for "someone else"; only the first automatic offer
passed the transferring agent over. When nobody else had room, the queue's next offer (an
agent freed, the watch's round) gave it straight back to them.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 21:40:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    # Nullable without a default: PostgreSQL adds it without rewriting the table.
    op.add_column(
        "conversations",
        sa.Column(
            "transferred_from", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_column("conversations", "transferred_from")
