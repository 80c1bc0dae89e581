"""The aiohttp application: webhooks, web chat, REST API, metrics, demo page."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from sqlalchemy import text

from adapters.webchat.socket import WebchatSocket
from bot import agents_api, api, console, slack_setup
from bot.model import utcnow
from bot.runtime import Runtime
from bot.settings import Settings
from bot.webhooks import WebhookRoutes
from storage import outbox

STATIC = Path(__file__).resolve().parent.parent / "adapters" / "webchat" / "static"
RUNTIME = web.AppKey("runtime", Runtime)


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> web.Application:
    settings = settings or Settings.from_env()
    runtime = runtime or Runtime(settings)
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[RUNTIME] = runtime

    async def startup(_app: web.Application) -> None:
        await runtime.start()
        webhooks = WebhookRoutes(
            runtime.adapters, runtime.gateway, runtime.metrics, settings.public_base()
        )
        webhooks_holder.append(webhooks)
        socket_holder.append(
            WebchatSocket(
                runtime.webchat_host,
                runtime.webchat_signer,
                max_text_bytes=settings.webchat_max_text,
                burst_limit=settings.webchat_burst_limit,
                burst_window=settings.webchat_burst_window,
            )
        )

    async def shutdown(_app: web.Application) -> None:
        await runtime.stop()

    webhooks_holder: list[WebhookRoutes] = []
    socket_holder: list[WebchatSocket] = []

    async def webhook(request: web.Request) -> web.StreamResponse:
        return await webhooks_holder[0].handle(request)

    async def webchat_ws(request: web.Request) -> web.StreamResponse:
        return await socket_holder[0].handle(request)

    async def healthz(_request: web.Request) -> web.Response:
        if not runtime.gateway.accepting:
            return web.json_response({"status": "stopping"}, status=503)
        try:
            async with runtime.sessions() as session:
                await session.execute(text("SELECT 1"))
            coordination_ok = await runtime.coordination.ping()
        except Exception as exc:
            return web.json_response({"status": "down", "error": type(exc).__name__}, status=503)
        if coordination_ok:
            return web.json_response({"status": "ok"})
        # Still ready: webhooks are stored and acknowledged; turns and sends catch up when
        # Redis is back. A 503 here would make a load balancer drop every worker at once.
        return web.json_response({"status": "degraded", "coordination": "down"})

    async def metrics(_request: web.Request) -> web.Response:
        async with runtime.sessions() as session:
            count, age = await outbox.depth(session, utcnow())
        runtime.metrics.outbox_depth.set(count)
        runtime.metrics.outbox_age.set(age)
        return web.Response(body=runtime.metrics.render(), content_type="text/plain")

    async def index(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def widget(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(
            STATIC / "widget.js", headers={"Content-Type": "application/javascript"}
        )

    app.on_startup.append(startup)
    app.on_shutdown.append(shutdown)
    app.router.add_get("/", index)
    app.router.add_get("/webchat/widget.js", widget)
    app.router.add_get("/webchat/ws", webchat_ws)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    if slack_setup.configured(settings):
        slack_setup.add_routes(app, runtime)  # /webhooks/slack/events, /interactivity
    app.router.add_route("*", "/webhooks/{tail:.+}", webhook)
    api.add_routes(app, runtime)
    agents_api.add_routes(app, runtime)  # agents, conversations, console WebSocket
    console.add_routes(app)  # the agent console page at /console
    return app
