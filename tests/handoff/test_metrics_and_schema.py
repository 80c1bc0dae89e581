"""Hand-off metrics on /metrics, and migration 0003 on a database that already has data."""

from __future__ import annotations

from alembic import command
from sqlalchemy import Connection, text

from storage.database import create_engine
from storage.migrate import alembic_config, migrate
from tests.handoff.helpers import Customer, create_agent
from tests.support import LiveGateway


async def test_prometheus_metrics(live_gateway: LiveGateway) -> None:
    gw = live_gateway
    ayse = await create_agent(gw, "Ayşe")
    async with Customer(gw) as customer:
        await customer.say("canlı destek")
        await customer.hears()
        cid = (await customer.conversation())["id"]
        await ayse.write(cid, "Merhaba!")
        await customer.hears()
        await ayse.act(cid, "close")
        await customer.hears()
        await customer.say("4")
        await customer.hears()
    async with gw.http.get(gw.base_url + "/metrics") as resp:
        metrics = await resp.text()
    for line in (
        'omnigate_handoffs_total{reason="customer_request"} 1.0',
        'omnigate_conversations_closed_total{handed_off="true"} 1.0',
        "omnigate_first_agent_reply_seconds_count 1.0",
        'omnigate_resolution_seconds_count{handed_off="true"} 1.0',
        'omnigate_csat_responses_total{score="4"} 1.0',
        "omnigate_queue_depth",
    ):
        assert line in metrics, line


def _to(revision: str) -> object:
    def run(connection: Connection) -> None:
        command.upgrade(alembic_config(connection), revision)

    return run


async def test_migration_keeps_and_backfills_conversations(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_to("0002"))  # type: ignore[arg-type]
            await conn.execute(
                text(
                    "INSERT INTO customers (display_name, email, phone, created_at, updated_at) "
                    "VALUES ('Eski', '', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO conversations (customer_id, state, handoff_reason, team, dialog,"
                    " last_inbound, last_channel, created_at, updated_at) VALUES "
                    "(1, 'queued', 'customer_request', '', '{}', '{}', 'sms', CURRENT_TIMESTAMP,"
                    " CURRENT_TIMESTAMP)"
                )
            )
        await migrate(engine)
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT state, handed_off, csat_comment, queued_at FROM conversations")
                )
            ).one()
            # A conversation already queued counts as handed off, waiting since its last change.
            assert (row.state, bool(row.handed_off), row.csat_comment) == ("queued", True, "")
            assert row.queued_at is not None
            agents = await conn.execute(text("SELECT count(*) FROM agents"))
            assert agents.scalar() == 0

        def down_and_up(connection: Connection) -> None:
            command.downgrade(alembic_config(connection), "0002")
            command.upgrade(alembic_config(connection), "head")

        async with engine.begin() as conn:
            await conn.run_sync(down_and_up)
    finally:
        await engine.dispose()
