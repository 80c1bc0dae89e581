"""outbox heads index: each conversation's first pending row found without a table scan

ix_outbox_heads (status, conversation_id, id) replaces ix_outbox_due (status,
next_attempt_at): the due time is checked on the heads only, and every status change wrote
both indexes.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 16:05:00.000000

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_heads", ["status", "conversation_id", "id"], unique=False)
        batch_op.drop_index("ix_outbox_due")


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_due", ["status", "next_attempt_at"], unique=False)
        batch_op.drop_index("ix_outbox_heads")
