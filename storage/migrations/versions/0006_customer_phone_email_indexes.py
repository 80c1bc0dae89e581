"""customer phone and email indexes: a new sender's same-phone match without a table scan

Every first contact on SMS or WhatsApp looks for the customer who already has that phone
(storage.links.phone_owner); an email link looks up the email. Both scanned the customers
table: at 10,000 customers, a ninth of the ingest time of a burst of new senders.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 20:10:00.000000

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_index("ix_customers_phone", "customers", ["phone"], unique=False)
    op.create_index("ix_customers_email", "customers", ["email"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_customers_email", table_name="customers")
    op.drop_index("ix_customers_phone", table_name="customers")
