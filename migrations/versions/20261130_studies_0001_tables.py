"""Studies: a study and the runs of its cells.

Revision ID: studies_0001
Revises: useit_0001
Create Date: 2026-11-30 04:44:30.610306

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "studies_0001"
down_revision: str | Sequence[str] | None = "useit_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "studies",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancel_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["owner_id"], ["users.id"], name=op.f("fk_studies_owner_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_studies")),
    )
    op.create_index("ix_studies_created_at_id", "studies", ["created_at", "id"], unique=False)
    op.create_index(op.f("ix_studies_owner_id"), "studies", ["owner_id"], unique=False)
    op.create_table(
        "study_runs",
        sa.Column("study_id", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("budget", sa.String(length=8), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name=op.f("fk_study_runs_run_id_runs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["studies.id"],
            name=op.f("fk_study_runs_study_id_studies"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("study_id", "label", "seed", "budget", name=op.f("pk_study_runs")),
    )
    op.create_index(op.f("ix_study_runs_run_id"), "study_runs", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_study_runs_run_id"), table_name="study_runs")
    op.drop_table("study_runs")
    op.drop_index(op.f("ix_studies_owner_id"), table_name="studies")
    op.drop_index("ix_studies_created_at_id", table_name="studies")
    op.drop_table("studies")
