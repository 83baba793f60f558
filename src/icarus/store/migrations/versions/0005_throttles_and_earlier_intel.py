"""Login throttling per client address; earlier-intelligence files imported into an
operation (their subjects and markers) and deconfliction alerts against them.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 23:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``login_throttles`` and the earlier-intelligence tables; let an alert name an
    earlier subject instead of another lead."""
    op.create_table(
        "login_throttles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("window_started_at", sa.DateTime(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttles")),
        sa.UniqueConstraint("address", name=op.f("uq_login_throttles_address")),
    )
    op.create_table(
        "earlier_intel_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operation_id", sa.Integer(), nullable=False),
        sa.Column("source_operation_id", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("intel_date", sa.Date(), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("subjects", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("imported_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["agency_id"], ["agencies.id"],
                                name=op.f("fk_earlier_intel_imports_agency_id_agencies")),
        sa.ForeignKeyConstraint(["imported_by"], ["users.id"],
                                name=op.f("fk_earlier_intel_imports_imported_by_users")),
        sa.ForeignKeyConstraint(["operation_id"], ["operations.id"],
                                name=op.f("fk_earlier_intel_imports_operation_id_operations")),
        sa.ForeignKeyConstraint(
            ["source_operation_id"], ["operations.id"],
            name=op.f("fk_earlier_intel_imports_source_operation_id_operations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_earlier_intel_imports")),
        sa.UniqueConstraint("operation_id", "file_sha256",
                            name=op.f("uq_earlier_intel_imports_operation_id_file_sha256")),
    )
    with op.batch_alter_table("earlier_intel_imports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_earlier_intel_imports_operation_id"),
                              ["operation_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_earlier_intel_imports_source_operation_id"),
                              ["source_operation_id"], unique=False)
    op.create_table(
        "earlier_subjects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.ForeignKeyConstraint(["import_id"], ["earlier_intel_imports.id"],
                                name=op.f("fk_earlier_subjects_import_id_earlier_intel_imports")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_earlier_subjects")),
        sa.UniqueConstraint("import_id", "ref", name=op.f("uq_earlier_subjects_import_id_ref")),
    )
    with op.batch_alter_table("earlier_subjects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_earlier_subjects_import_id"), ["import_id"],
                              unique=False)
    op.create_table(
        "earlier_markers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.Column("last_seen", sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('identifier', 'ip')", name=op.f("ck_earlier_markers_kind")),
        sa.ForeignKeyConstraint(["subject_id"], ["earlier_subjects.id"],
                                name=op.f("fk_earlier_markers_subject_id_earlier_subjects")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_earlier_markers")),
        sa.UniqueConstraint("subject_id", "kind", "digest",
                            name=op.f("uq_earlier_markers_subject_id_kind_digest")),
    )
    with op.batch_alter_table("earlier_markers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_earlier_markers_digest"), ["digest"], unique=False)
        batch_op.create_index(batch_op.f("ix_earlier_markers_subject_id"), ["subject_id"],
                              unique=False)
    with op.batch_alter_table("deconfliction_alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("earlier_subject_id", sa.Integer(), nullable=True))
        batch_op.alter_column("other_lead_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_deconfliction_alerts_earlier_subject_id_earlier_subjects"),
            "earlier_subjects", ["earlier_subject_id"], ["id"])
        batch_op.create_unique_constraint(
            batch_op.f("uq_deconfliction_alerts_lead_id_earlier_subject_id"),
            ["lead_id", "earlier_subject_id"])
        batch_op.create_check_constraint(
            batch_op.f("ck_deconfliction_alerts_one_other"),
            sa.text("(other_lead_id IS NULL) <> (earlier_subject_id IS NULL)"))
        batch_op.create_index(batch_op.f("ix_deconfliction_alerts_earlier_subject_id"),
                              ["earlier_subject_id"], unique=False)


def downgrade() -> None:
    """Drop them again; alerts against earlier-intelligence files go with them."""
    op.execute("DELETE FROM deconfliction_alerts WHERE earlier_subject_id IS NOT NULL")
    with op.batch_alter_table("deconfliction_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deconfliction_alerts_earlier_subject_id"))
        batch_op.drop_constraint(batch_op.f("ck_deconfliction_alerts_one_other"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("uq_deconfliction_alerts_lead_id_earlier_subject_id"), type_="unique")
        batch_op.drop_constraint(
            batch_op.f("fk_deconfliction_alerts_earlier_subject_id_earlier_subjects"),
            type_="foreignkey")
        batch_op.alter_column("other_lead_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("earlier_subject_id")
    with op.batch_alter_table("earlier_markers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_earlier_markers_subject_id"))
        batch_op.drop_index(batch_op.f("ix_earlier_markers_digest"))
    op.drop_table("earlier_markers")
    with op.batch_alter_table("earlier_subjects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_earlier_subjects_import_id"))
    op.drop_table("earlier_subjects")
    with op.batch_alter_table("earlier_intel_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_earlier_intel_imports_source_operation_id"))
        batch_op.drop_index(batch_op.f("ix_earlier_intel_imports_operation_id"))
    op.drop_table("earlier_intel_imports")
    op.drop_table("login_throttles")
