"""Networks of an operation and their members; referral packages kept as imported.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``networks``, ``network_members`` and ``referral_packages``."""
    op.create_table(
        "networks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operation_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=128), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("countries", sa.JSON(), nullable=False),
        sa.Column("core_files", sa.JSON(), nullable=False),
        sa.Column("first_seen", sa.String(length=32), nullable=True),
        sa.Column("last_seen", sa.String(length=32), nullable=True),
        sa.Column("known_earlier", sa.Boolean(), nullable=False),
        sa.Column("earlier_ref", sa.String(length=128), nullable=True),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("imported_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["imported_by"], ["users.id"],
                                name=op.f("fk_networks_imported_by_users")),
        sa.ForeignKeyConstraint(["operation_id"], ["operations.id"],
                                name=op.f("fk_networks_operation_id_operations")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_networks")),
        sa.UniqueConstraint("operation_id", "label",
                            name=op.f("uq_networks_operation_id_label")),
    )
    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_networks_operation_id"), ["operation_id"],
                              unique=False)
    op.create_table(
        "network_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"],
                                name=op.f("fk_network_members_network_id_networks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_members")),
        sa.UniqueConstraint("network_id", "subject_id",
                            name=op.f("uq_network_members_network_id_subject_id")),
    )
    with op.batch_alter_table("network_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_network_members_network_id"), ["network_id"],
                              unique=False)
        batch_op.create_index(batch_op.f("ix_network_members_subject_id"), ["subject_id"],
                              unique=False)
    op.create_table(
        "referral_packages",
        sa.Column("referral_id", sa.Integer(), nullable=False),
        sa.Column("package", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("stored_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["referral_id"], ["referrals.id"],
                                name=op.f("fk_referral_packages_referral_id_referrals")),
        sa.PrimaryKeyConstraint("referral_id", name=op.f("pk_referral_packages")),
    )


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("referral_packages")
    with op.batch_alter_table("network_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_network_members_subject_id"))
        batch_op.drop_index(batch_op.f("ix_network_members_network_id"))
    op.drop_table("network_members")
    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_networks_operation_id"))
    op.drop_table("networks")
