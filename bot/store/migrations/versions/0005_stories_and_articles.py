"""Story ids on items, the article cache for full text, and alert edits when sources join.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.add_column(sa.Column("story_id", sa.Text(), nullable=True))
        batch.create_index("ix_items_story_id", ["story_id"])
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("edit_of", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_alerts_edit_of_alerts"), "alerts", ["edit_of"], ["id"], ondelete="CASCADE"
        )
    op.create_table(
        "articles",
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("url", name=op.f("pk_articles")),
    )
    op.create_index("ix_articles_fetched_at", "articles", ["fetched_at"])


def downgrade() -> None:
    op.drop_index("ix_articles_fetched_at", table_name="articles")
    op.drop_table("articles")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint(op.f("fk_alerts_edit_of_alerts"), type_="foreignkey")
        batch.drop_column("edit_of")
    with op.batch_alter_table("items") as batch:
        batch.drop_index("ix_items_story_id")
        batch.drop_column("story_id")
