"""Latent purity may be not applicable (every probe point a cluster of its own): the
column becomes nullable and a `warning` says why.

Revision ID: latent_0001
Revises: jobs_0001
Create Date: 2026-12-01 09:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "latent_0001"
down_revision: str | Sequence[str] | None = "jobs_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("latent_analyses") as batch:
        batch.alter_column("purity", existing_type=sa.Double(), nullable=True)
        batch.add_column(sa.Column("warning", sa.Text(), nullable=True))


def downgrade() -> None:
    op.execute("UPDATE latent_analyses SET purity = 1.0 WHERE purity IS NULL")
    with op.batch_alter_table("latent_analyses") as batch:
        batch.drop_column("warning")
        batch.alter_column("purity", existing_type=sa.Double(), nullable=False)
