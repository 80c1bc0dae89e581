"""Migrations: applied once, skipped (without loading Alembic) when the schema is current."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from storage.database import create_engine
from storage.migrate import alembic_config, current_revision, head_revision, migrate
from storage.tables import Base


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


async def test_the_migrated_schema_is_the_models(database_url: str) -> None:
    """The tables, columns and indexes the migrations build are those storage/tables.py
    declares (a model changed without its migration shows up here)."""
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
    finally:
        await engine.dispose()
    assert differences == []
