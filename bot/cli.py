"""`omnigate` command line: serve, migrate, intents eval, telegram set-webhook."""

from __future__ import annotations

import argparse
import asyncio
import logging
import subprocess
import sys

from bot import logs
from bot.settings import Settings

log = logging.getLogger("omnigate")


def _serve(args: argparse.Namespace) -> int:
    overrides: dict[str, object] = {}
    if args.host:
        overrides["host"] = args.host
    if args.port:
        overrides["port"] = args.port
    settings = Settings.from_env(**overrides)
    logs.setup(settings.log_level, settings.log_format)
    if args.simulate:
        from simulator.serve import run_simulation

        return run_simulation(settings, explicit_host=args.host, workers=args.workers)
    if args.workers != 1:
        from bot.workers import refusal, serve_workers

        if refusal(settings, args.workers) is None:  # a refused start touches nothing
            _run_migrate_child()  # the supervisor itself never loads SQLAlchemy (~55 MB)
        return serve_workers(settings, args.workers)
    from aiohttp import web  # here: a supervisor of workers never loads the app

    from bot.app import create_app
    from bot.event_loop import EventLoopUnavailable, new_event_loop
    from bot.heap import freeze_startup_heap

    try:
        loop = new_event_loop(settings.event_loop)
    except EventLoopUnavailable as exc:
        print(f"omnigate: {exc}", file=sys.stderr)
        return 2
    _migrate_in_child(settings)
    app = create_app(settings)
    app.on_startup.append(freeze_startup_heap)
    print(f"Omnigate on http://{settings.host}:{settings.port}/  (Ctrl+C to stop)", flush=True)
    # run_app turns SIGTERM/SIGINT into a graceful shutdown (our on_shutdown drains work).
    web.run_app(
        app,
        host=settings.host,
        port=settings.port,
        print=None,
        shutdown_timeout=settings.shutdown_grace,
        loop=loop,
    )
    return 0


def _migrate_in_child(settings: Settings) -> None:
    """Bring the schema up to date in a child process, so that the server never imports
    Alembic (see storage/migrate.py). If this fails, the gateway migrates on start itself and
    reports the problem there."""
    from storage.database import create_engine
    from storage.migrate import current_revision, head_revision

    async def current() -> bool:
        engine = create_engine(settings.database_url)
        try:
            return await current_revision(engine) == head_revision()
        finally:
            await engine.dispose()

    try:
        if asyncio.run(current()):
            return
    except Exception as exc:  # the database is down: the gateway's start says so
        log.warning("schema check failed: %s", exc)
        return
    _run_migrate_child()


def _run_migrate_child() -> None:
    result = subprocess.run([sys.executable, "-m", "bot.cli", "migrate"], check=False)
    if result.returncode != 0:
        log.warning("migration in a child process failed (exit %d)", result.returncode)


def _migrate(_args: argparse.Namespace) -> int:
    from storage.database import create_engine
    from storage.migrate import current_revision, migrate

    settings = Settings.from_env()
    logs.setup(settings.log_level, settings.log_format)

    async def run() -> tuple[str | None, str | None]:
        engine = create_engine(settings.database_url)
        try:
            before = await current_revision(engine)
            await migrate(engine)
            return before, await current_revision(engine)
        finally:
            await engine.dispose()

    before, after = asyncio.run(run())
    if before == after:
        print(f"database is up to date (revision {after})")
    else:
        print(f"database migrated from revision {before or 'none'} to {after}")
    return 0


def _intents_eval(args: argparse.Namespace) -> int:
    from bot.intents_eval import main as eval_main

    return eval_main([args.intents, args.cases])


def _telegram_set_webhook(args: argparse.Namespace) -> int:
    from adapters.telegram import TelegramAdapter

    settings = Settings.from_env()
    if not settings.telegram_token or not settings.telegram_secret:
        print("set OMNIGATE_TELEGRAM_TOKEN and OMNIGATE_TELEGRAM_SECRET first", file=sys.stderr)
        return 2
    url = args.url or f"{settings.public_base()}/webhooks/telegram"

    async def run() -> None:
        adapter = TelegramAdapter(settings)
        try:
            await adapter.set_webhook(url)
        finally:
            await adapter.close()

    asyncio.run(run())
    print(f"Telegram will call {url}")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="omnigate", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the gateway")
    serve.add_argument("--host", default="", help="overrides OMNIGATE_HOST")
    serve.add_argument("--port", type=int, default=0, help="overrides OMNIGATE_PORT")
    serve.add_argument(
        "--workers", type=int, default=1, help="worker processes (PostgreSQL + Redis)"
    )
    serve.add_argument(
        "--simulate",
        action="store_true",
        help="with simulated WhatsApp, SMS and Telegram providers on localhost (/simulator)",
    )
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser("migrate", help="apply database migrations")
    migrate.set_defaults(run=_migrate)

    intents = commands.add_parser("intents", help="intent matcher tools")
    intents_commands = intents.add_subparsers(dest="intents_command", required=True)
    evaluate = intents_commands.add_parser("eval", help="score the matcher on labelled cases")
    evaluate.add_argument("intents", help="intents YAML")
    evaluate.add_argument("cases", help="TSV with header text<TAB>expected")
    evaluate.set_defaults(run=_intents_eval)

    telegram = commands.add_parser("telegram", help="Telegram tools")
    telegram_commands = telegram.add_subparsers(dest="telegram_command", required=True)
    set_webhook = telegram_commands.add_parser("set-webhook", help="point Telegram at us")
    set_webhook.add_argument(
        "--url", default="", help="default: OMNIGATE_PUBLIC_URL/webhooks/telegram"
    )
    set_webhook.set_defaults(run=_telegram_set_webhook)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
