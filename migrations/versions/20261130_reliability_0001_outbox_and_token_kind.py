"""Run task outbox (`runs.dispatched_at`) and token kinds (`api_tokens.kind`).

Revision ID: reliability_0001
Revises: studies_0001
Create Date: 2026-11-30 05:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "reliability_0001"
down_revision: str | Sequence[str] | None = "studies_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("runs", sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE runs SET dispatched_at = created_at")
    op.add_column(
        "api_tokens",
        sa.Column("kind", sa.String(length=16), server_default="api", nullable=False),
    )
    op.execute("UPDATE api_tokens SET kind = 'session' WHERE name = 'web session'")


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("dispatched_at")
