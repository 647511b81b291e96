"""Mutes, feed-failure notices, and alerts without an item.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("muted_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(
            sa.Column("failure_notified", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("added_by", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_feeds_added_by_chats", "chats", ["added_by"], ["id"], ondelete="SET NULL"
        )
    with op.batch_alter_table("alerts") as batch:
        batch.alter_column("item_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.alter_column("item_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("feeds") as batch:
        batch.drop_constraint("fk_feeds_added_by_chats", type_="foreignkey")
        batch.drop_column("added_by")
        batch.drop_column("failure_notified")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("muted_until")
