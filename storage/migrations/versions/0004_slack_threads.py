"""slack threads: the Slack thread of each handed-off conversation

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 10:12:05.118204

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "slack_threads",
        sa.Column("conversation_id", _ID, autoincrement=False, nullable=False),
        sa.Column("channel", sa.String(length=50), nullable=False),
        sa.Column("thread_ts", sa.String(length=32), nullable=False),
        sa.Column("covered_message_id", _ID, nullable=False),
        sa.Column("reserved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id"),
    )
    with op.batch_alter_table("slack_threads", schema=None) as batch_op:
        batch_op.create_index("ix_slack_threads_ts", ["channel", "thread_ts"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("slack_threads", schema=None) as batch_op:
        batch_op.drop_index("ix_slack_threads_ts")
    op.drop_table("slack_threads")
