"""Bring your own model and teacher: added models, team secrets, teacher jobs.

Revision ID: byo_0001
Revises: answers_0001
Create Date: 2026-11-30 04:41:38.202958

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "byo_0001"
down_revision: str | Sequence[str] | None = "answers_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "registered_models",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=500), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Double(), nullable=False),
        sa.Column("downloaded_bytes", sa.BigInteger(), nullable=False),
        sa.Column("total_bytes", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_registered_models_owner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registered_models")),
        sa.UniqueConstraint("name", name=op.f("uq_registered_models_name")),
    )
    op.create_index(
        op.f("ix_registered_models_owner_id"), "registered_models", ["owner_id"], unique=False
    )
    op.create_table(
        "team_secrets",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_team_secrets_owner_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_secrets")),
        sa.UniqueConstraint("name", name=op.f("uq_team_secrets_name")),
    )
    op.create_index(op.f("ix_team_secrets_owner_id"), "team_secrets", ["owner_id"], unique=False)
    op.create_table(
        "teacher_jobs",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("questions_id", sa.String(length=32), nullable=False),
        sa.Column("rationales_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Double(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("samples", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_teacher_jobs_owner_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["questions_id"], ["datasets.id"], name=op.f("fk_teacher_jobs_questions_id_datasets")
        ),
        sa.ForeignKeyConstraint(
            ["rationales_id"],
            ["datasets.id"],
            name=op.f("fk_teacher_jobs_rationales_id_datasets"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teacher_jobs")),
    )
    op.create_index(op.f("ix_teacher_jobs_owner_id"), "teacher_jobs", ["owner_id"], unique=False)
    op.create_index(
        op.f("ix_teacher_jobs_questions_id"), "teacher_jobs", ["questions_id"], unique=False
    )
    op.create_index(op.f("ix_teacher_jobs_status"), "teacher_jobs", ["status"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index(op.f("ix_teacher_jobs_status"), table_name="teacher_jobs")
    op.drop_index(op.f("ix_teacher_jobs_questions_id"), table_name="teacher_jobs")
    op.drop_index(op.f("ix_teacher_jobs_owner_id"), table_name="teacher_jobs")
    op.drop_table("teacher_jobs")
    op.drop_index(op.f("ix_team_secrets_owner_id"), table_name="team_secrets")
    op.drop_table("team_secrets")
    op.drop_index(op.f("ix_registered_models_owner_id"), table_name="registered_models")
    op.drop_table("registered_models")
