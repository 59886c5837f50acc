"""Worker adverts (`workers`) and the queue a run's task went to (`runs.queue`).

Revision ID: scale_0001
Revises: reliability_0001
Create Date: 2026-11-30 08:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "scale_0001"
down_revision: str | Sequence[str] | None = "reliability_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workers",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("device_class", sa.String(length=64), nullable=False),
        sa.Column("devices", sa.Integer(), nullable=False),
        sa.Column("queues", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_workers")),
    )
    op.create_index(op.f("ix_workers_device_class"), "workers", ["device_class"])
    op.create_index(op.f("ix_workers_last_seen"), "workers", ["last_seen"])
    op.add_column("runs", sa.Column("queue", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("queue")
    op.drop_index(op.f("ix_workers_last_seen"), table_name="workers")
    op.drop_index(op.f("ix_workers_device_class"), table_name="workers")
    op.drop_table("workers")
