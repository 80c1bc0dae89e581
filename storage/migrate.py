"""Apply the Alembic migrations (on start and by `omnigate migrate`).

Alembic is imported only when the schema is behind: once imported it stays resident (~12 MB
of a worker's ~70), and a gateway needs it only on its first start after an upgrade.
`omnigate serve` migrates in a child process before it starts, so the server itself finds the
schema current and never loads Alembic.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant works: it only has to be the same in every worker that migrates at once.
_PG_MIGRATION_LOCK = 727_001


@cache
def head_revision() -> str:
    """The newest revision in migrations/versions (the one no other revision follows)."""
    revisions: dict[str, str | None] = {}
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision = re.search(r'^revision: str = "(\w+)"', source, re.M)
        down = re.search(r'^down_revision: [^=]+= "(\w+)"', source, re.M)
        if revision:
            revisions[revision.group(1)] = down.group(1) if down else None
    heads = set(revisions) - set(revisions.values())
    if len(heads) != 1:
        raise RuntimeError(f"migrations must have one head, found {sorted(heads)}")
    return heads.pop()


async def current_revision(engine: AsyncEngine) -> str | None:
    """The schema's revision; None for an empty database."""
    try:
        async with engine.connect() as conn:
            return (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except DBAPIError:  # no alembic_version table yet
        return None


def alembic_config(connection: Connection | None = None, url: str = "") -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if url:
        config.set_main_option("sqlalchemy.url", url)
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Several workers start at once; only one may run the migrations.
        connection.execute(text(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})"))
    from alembic import command

    command.upgrade(alembic_config(connection), "head")


async def migrate(engine: AsyncEngine) -> None:
    if await current_revision(engine) == head_revision():
        return
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


def revision(message: str, url: str) -> None:
    """Autogenerate a migration from the models against a database at `url` (sync URL)."""
    from alembic import command

    command.revision(alembic_config(url=url), message=message, autogenerate=True)
