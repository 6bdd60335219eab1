"""Split execution: the files each frozen split slice delivered (``drainingn``, ``stagedfiles``), and why a
stage's schedule was disabled (its split is exhausted).

The next slice of such a split leaves out what earlier slices delivered by probing this table for the fids it
considers, so its cost does not grow with the stage's history (issue: split types).  Rows of earlier launches
are taken from the slice records they kept in ``data_dispatcher_submission.split_slice["fids"]``.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'slice_delivery',
        sa.Column('submission_id', sa.Integer(), nullable=False),
        sa.Column('fid', sa.String(length=64), nullable=False),
        sa.Column('stage_id', sa.Integer(), nullable=False),
        sa.Column('test', sa.Boolean(), nullable=False),
        sa.Column('epoch', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['stage_id'], ['campaign_stage.id'], name=op.f('fk_slice_delivery_stage_id_campaign_stage'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['submission_id'], ['submission.id'],
                                name=op.f('fk_slice_delivery_submission_id_submission'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('submission_id', 'fid', name=op.f('pk_slice_delivery')),
    )
    op.create_index('ix_slice_delivery_lookup', 'slice_delivery', ['stage_id', 'test', 'epoch', 'fid'], unique=False)
    op.execute("""
        INSERT INTO slice_delivery (submission_id, fid, stage_id, test, epoch)
        SELECT DISTINCT t.submission_id, f.fid, t.stage_id, COALESCE((t.split_slice->>'test')::boolean, false),
               COALESCE((t.split_slice->>'epoch')::integer, 0)
        FROM data_dispatcher_submission t,
             jsonb_array_elements_text(CASE WHEN jsonb_typeof(t.split_slice->'fids') = 'array'
                                            THEN t.split_slice->'fids' ELSE '[]'::jsonb END) AS f(fid)
    """)


    op.add_column('campaign_stage', sa.Column('schedule_disabled_reason', sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column('campaign_stage', 'schedule_disabled_reason')
    op.drop_index('ix_slice_delivery_lookup', table_name='slice_delivery')
    op.drop_table('slice_delivery')
