"""Wires the parts together and owns their lifecycle: start in order, stop gracefully."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from adapters.base import ChannelAdapter
from adapters.registry import build_adapters
from adapters.webchat import SessionSigner, WebchatAdapter
from bot.event_loop import running_loop_name
from bot.events import EventBus
from bot.gateway import Gateway
from bot.handoff import HandoffService
from bot.identity import IdentityResolver
from bot.identity_actions import IdentityActions
from bot.intents import IntentMatcher
from bot.metrics import Metrics
from bot.queue_watch import QueueWatch
from bot.router import Router
from bot.sender import OutboxSender
from bot.settings import Settings
from bot.turns import TurnRunner
from bot.webchat_host import WebchatHostImpl
from storage.coordination import Coordination, create_coordination
from storage.database import (
    create_engine,
    read_session_factory,
    session_factory,
    sqlite_file,
)
from storage.dialect import insert_ignoring_conflicts
from storage.migrate import migrate
from storage.tables import KeyValue

if TYPE_CHECKING:
    from storage.sqlite_checkpoint import WalCheckpointer

log = logging.getLogger("omnigate.runtime")


class Runtime:
    """Everything one gateway process runs."""

    def __init__(
        self,
        settings: Settings,
        *,
        router: Router | None = None,
        intents_file: Path | None = None,
        adapters: dict[str, ChannelAdapter] | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self._router = router
        self._intents_file = intents_file
        self.adapters = adapters if adapters is not None else build_adapters(settings)
        self.engine: AsyncEngine
        self.sessions: async_sessionmaker[AsyncSession]
        self.coordination: Coordination
        self.events: EventBus
        self.gateway: Gateway
        self.turns: TurnRunner
        self.sender: OutboxSender
        self.webchat_host: WebchatHostImpl
        self.webchat_signer: SessionSigner
        self.identity_actions: IdentityActions
        self.handoff: HandoffService
        self.queue_watch: QueueWatch
        self.checkpointer: WalCheckpointer | None = None

    async def start(self) -> None:
        from handlers import INTENTS_FILE, build_router

        settings = self.settings
        self.engine = create_engine(settings.database_url, background_checkpoints=True)
        await migrate(self.engine)
        database_file = sqlite_file(self.engine)
        if database_file is not None:  # after migrate(): the database is in WAL mode by then
            from storage.sqlite_checkpoint import WalCheckpointer  # not loaded on PostgreSQL

            self.checkpointer = WalCheckpointer(database_file)
            self.checkpointer.start()
        self.sessions = session_factory(self.engine)
        self.coordination = create_coordination(settings.redis_url, settings.redis_prefix)
        self.events = EventBus(self.coordination)
        matcher = IntentMatcher.from_yaml(self._intents_file or INTENTS_FILE)
        self.identity_actions = IdentityActions(self.sessions, settings)
        statement_sessions = read_session_factory(self.engine)
        self.sender = OutboxSender(
            self.sessions,
            self.coordination,
            self.adapters,
            self.events,
            self.metrics,
            settings,
            max_attempts=settings.outbox_max_attempts,
            poll_interval=settings.outbox_poll_interval,
            concurrency=settings.outbox_concurrency,
            lease=settings.outbox_lease,
            round_sessions=statement_sessions,
        )
        self.handoff = HandoffService(
            self.sessions, self.events, self.metrics, settings, self.sender.wake
        )
        self.turns = TurnRunner(
            self.sessions,
            self.coordination,
            self._router or build_router(),
            matcher,
            self.events,
            self.metrics,
            self.sender.wake,
            default_language=settings.default_language,
            concurrency=settings.turn_concurrency,
            lock_ttl=settings.turn_lock_ttl,
            identity_actions=self.identity_actions,
            handoff=self.handoff,
            writers=self._writers(),
            read_sessions=statement_sessions,
        )
        self.gateway = Gateway(
            self.sessions,
            self.events,
            self.metrics,
            self.turns.schedule,
            self.sender.wake,
            IdentityResolver(settings),
        )
        self.webchat_host = WebchatHostImpl(
            self.gateway, self.sessions, self.coordination, settings
        )
        self.webchat_signer = SessionSigner(await self._instance_secret("webchat_session_secret"))
        for adapter in self.adapters.values():
            if isinstance(adapter, WebchatAdapter):
                adapter.host = self.webchat_host
            adapter.bind(self.gateway.ingest)
            if adapter.configured:
                await adapter.start()
        self.gateway.start(writers=self._writers())
        await self.turns.start()
        await self.sender.start()
        self.queue_watch = QueueWatch(
            self.handoff,
            self.sessions,
            self.metrics,
            timeout=settings.handoff_timeout,
            fallback=settings.handoff_fallback,
            default_language=settings.default_language,
        )
        await self.queue_watch.start()
        log.info(
            "gateway started (database %s, event loop %s)",
            self.engine.url.render_as_string(),
            running_loop_name(),
        )

    def _writers(self) -> int:
        """Writer transactions per kind of write: SQLite has one writer anyway."""
        return 1 if self.settings.is_sqlite else max(1, self.settings.db_writers)

    async def stop(self) -> None:
        """SIGTERM: stop taking work, finish the turns in flight, flush what we can."""
        grace = self.settings.shutdown_grace
        await self.gateway.stop()
        await self.queue_watch.stop()
        await self.turns.stop(grace)
        await self.sender.stop(grace)
        for adapter in self.adapters.values():
            try:
                await adapter.close()
            except Exception:
                log.exception("closing %s failed", adapter.name)
        await self.coordination.close()
        await self.engine.dispose()
        if self.checkpointer is not None:
            self.checkpointer.stop()
        log.info("gateway stopped")

    async def _instance_secret(self, key: str) -> bytes:
        """A secret generated once per installation and shared by every worker."""
        async with self.sessions() as session, session.begin():
            await session.execute(
                insert_ignoring_conflicts(session, KeyValue).values(
                    key=key, value=secrets.token_hex(32)
                )
            )
            value = await session.scalar(select(KeyValue.value).where(KeyValue.key == key))
        assert value is not None
        return bytes.fromhex(value)
