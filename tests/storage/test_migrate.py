"""Migrations: applied once, skipped (without loading Alembic) when the schema is current."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from storage.database import create_engine
from storage.migrate import alembic_config, current_revision, head_revision, migrate


def test_head_revision_agrees_with_alembic() -> None:
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_fresh_database_is_migrated_to_head_and_left_alone_after(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        assert await current_revision(engine) is None
        await migrate(engine)
        assert await current_revision(engine) == head_revision()
        await migrate(engine)  # current: nothing to do
        assert await current_revision(engine) == head_revision()
    finally:
        await engine.dispose()
