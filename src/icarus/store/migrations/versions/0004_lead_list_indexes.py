"""Indexes for the lead lists under load (bench/bench_web.py measured them): the sorts by
score and rank within a referral, by score, rank and subject across referrals, and the
country and outcome state filters (their counts become index-only scans).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 23:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the indexes."""
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index("ix_leads_referral_id_score", ["referral_id", "score"])
        batch_op.create_index("ix_leads_referral_id_rank", ["referral_id", "rank"])
        batch_op.create_index("ix_leads_score", ["score"])
        batch_op.create_index("ix_leads_rank", ["rank"])
        batch_op.create_index("ix_leads_subject_id", ["subject_id"])
        batch_op.create_index("ix_leads_country", ["country"])
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        batch_op.create_index("ix_outcomes_state", ["state"])


def downgrade() -> None:
    """Drop them."""
    with op.batch_alter_table("outcomes", schema=None) as batch_op:
        batch_op.drop_index("ix_outcomes_state")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_country")
        batch_op.drop_index("ix_leads_subject_id")
        batch_op.drop_index("ix_leads_rank")
        batch_op.drop_index("ix_leads_score")
        batch_op.drop_index("ix_leads_referral_id_rank")
        batch_op.drop_index("ix_leads_referral_id_score")
