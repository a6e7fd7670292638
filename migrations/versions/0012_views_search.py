"""views and search: saved views, merged conversations, full-text search over conversations

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 17:00:00.000000

The search index lives outside the models (helpdesk.services.conversation_search lists its
objects, which the model comparison leaves out): on SQLite, FTS5 tables kept up to date by
triggers; on PostgreSQL, a text search configuration without accents, a stored tsvector
of each message and GIN indexes.
"""
from alembic import op
import sqlalchemy as sa
import helpdesk.orm
from helpdesk.migration_ops import add_reference_column, drop_reference_column


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# unicode61 folds case and, with remove_diacritics 2, accents: "reclamation" finds
# "réclamation". No stemming: French and English content share one index.
SQLITE_TOKENIZER = "unicode61 remove_diacritics 2"
SQLITE_INDEXES = {  # FTS5 table: (indexed table, column)
    'message_fts': ('messages', 'body'),
    'conversation_subject_fts': ('conversations', 'subject'),
}
PG_CONFIG = 'comptoir_search'


def upgrade() -> None:
    add_reference_column('conversations', 'merged_into_id', 'conversations')
    op.create_table('saved_views',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('filters', sa.JSON(), nullable=False),
    sa.Column('created_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', helpdesk.orm.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_saved_views_owner_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_views'))
    )
    with op.batch_alter_table('saved_views', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_views_owner_id'), ['owner_id'], unique=False)
    if _dialect() == 'sqlite':
        for fts, (table, column) in SQLITE_INDEXES.items():
            _create_sqlite_index(fts, table, column)
    else:
        _create_postgres_index()


def downgrade() -> None:
    if _dialect() == 'sqlite':
        for fts, (table, _column) in SQLITE_INDEXES.items():
            _drop_sqlite_index(fts, table)
    else:
        _drop_postgres_index()
    with op.batch_alter_table('saved_views', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_views_owner_id'))
    op.drop_table('saved_views')
    drop_reference_column('conversations', 'merged_into_id', 'conversations')


def _dialect() -> str:
    return op.get_bind().dialect.name


def _create_sqlite_index(fts: str, table: str, column: str) -> None:
    """An external-content FTS5 table over ``table.column``, kept in step by triggers."""
    op.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5({column}, content='{table}', "
               f"content_rowid='id', tokenize='{SQLITE_TOKENIZER}')")
    insert = f"INSERT INTO {fts} (rowid, {column}) VALUES (new.id, new.{column});"
    delete = (f"INSERT INTO {fts} ({fts}, rowid, {column}) "
              f"VALUES ('delete', old.id, old.{column});")
    op.execute(f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {insert} END")
    op.execute(f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {delete} END")
    op.execute(f"CREATE TRIGGER {fts}_update AFTER UPDATE OF {column} ON {table} "
               f"BEGIN {delete} {insert} END")
    op.execute(f"INSERT INTO {fts} ({fts}) VALUES ('rebuild')")


def _drop_sqlite_index(fts: str, table: str) -> None:
    for trigger in ('insert', 'delete', 'update'):
        op.execute(f'DROP TRIGGER IF EXISTS {fts}_{trigger}')
    op.execute(f'DROP TABLE IF EXISTS {fts}')


def _create_postgres_index() -> None:
    """'simple' (no stemming: French and English alike) behind unaccent: case and accents
    folded. A stored tsvector per message: ranking reads it instead of re-parsing bodies."""
    op.execute('CREATE EXTENSION IF NOT EXISTS unaccent')
    op.execute(f'CREATE TEXT SEARCH CONFIGURATION {PG_CONFIG} (COPY = simple)')
    op.execute(f'ALTER TEXT SEARCH CONFIGURATION {PG_CONFIG} ALTER MAPPING FOR '
               'asciiword, asciihword, hword_asciipart, word, hword, hword_part '
               'WITH unaccent, simple')
    op.execute(f"ALTER TABLE messages ADD COLUMN search_vector tsvector GENERATED ALWAYS AS "
               f"(to_tsvector('{PG_CONFIG}'::regconfig, body)) STORED")
    op.execute('CREATE INDEX ix_messages_search_vector ON messages USING gin (search_vector)')
    op.execute(f"CREATE INDEX ix_conversations_subject_search ON conversations USING gin "
               f"(to_tsvector('{PG_CONFIG}'::regconfig, subject))")


def _drop_postgres_index() -> None:
    op.execute('DROP INDEX IF EXISTS ix_conversations_subject_search')
    op.execute('DROP INDEX IF EXISTS ix_messages_search_vector')
    op.execute('ALTER TABLE messages DROP COLUMN IF EXISTS search_vector')
    op.execute(f'DROP TEXT SEARCH CONFIGURATION IF EXISTS {PG_CONFIG}')
