"""Evaluations record the answer extractor's version and when they were scored.

A run may hold one evaluation per (model, benchmark, extractor version): rescoring with a
newer extractor adds rows instead of silently changing the old ones. Rows written before
this revision were scored by extractor version 1.

Revision ID: answers_0001
Revises: 0001
Create Date: 2026-11-30 05:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "answers_0001"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNIQUE = "uq_evaluation_results_run_id"


def upgrade() -> None:
    with op.batch_alter_table("evaluation_results") as batch:
        batch.add_column(
            sa.Column("extractor_version", sa.String(16), nullable=False, server_default="1")
        )
        batch.add_column(
            sa.Column(
                "created_at",
                sa.DateTime(timezone=True),
                nullable=False,
                server_default=sa.func.now(),
            )
        )
        batch.drop_constraint(UNIQUE, type_="unique")
        batch.create_unique_constraint(
            UNIQUE, ["run_id", "model", "benchmark", "extractor_version"]
        )


def downgrade() -> None:
    op.execute(
        "DELETE FROM evaluation_results WHERE id NOT IN (SELECT max(id) FROM evaluation_results "
        "GROUP BY run_id, model, benchmark)"
    )
    with op.batch_alter_table("evaluation_results") as batch:
        batch.drop_constraint(UNIQUE, type_="unique")
        batch.create_unique_constraint(UNIQUE, ["run_id", "model", "benchmark"])
        batch.drop_column("created_at")
        batch.drop_column("extractor_version")
