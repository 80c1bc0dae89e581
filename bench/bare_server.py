"""The ceiling: a bare aiohttp handler that checks the Twilio signature and answers 200.

    python -m bench.bare_server --port 8081 --auth-token TOKEN --public-url http://127.0.0.1:8081

It does what the gateway's webhook route must do before anything of its own (read the body,
parse the form, validate X-Twilio-Signature with twilio-python's `RequestValidator` over the
public URL, answer the empty TwiML), and nothing else: no dedupe, no database, no bot. Its
rate is what the same client on the same machine gets from aiohttp itself, so a gateway
figure divided by it says how much of the headroom the gateway's own work takes.

Several processes may share the port (`SO_REUSEPORT`), as `omnigate serve --workers N` does,
and it runs on the event loop the gateway runs on (`OMNIGATE_EVENT_LOOP`, uvloop by default):
a ceiling on a slower loop would flatter every ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

from aiohttp import web
from multidict import MultiDict
from twilio.request_validator import RequestValidator

from bench.server import REPO, free_port
from bot.event_loop import new_event_loop

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
READY = "bare server ready"


def make_app(auth_token: str, public_url: str) -> web.Application:
    validator = RequestValidator(auth_token)

    async def webhook(request: web.Request) -> web.Response:
        body = await request.read()
        form = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        signature = request.headers.get("X-Twilio-Signature", "")
        url = public_url + request.path_qs
        if not signature or not validator.validate(url, MultiDict(form), signature):
            return web.json_response({"error": "rejected"}, status=403)
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")

    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.add_routes([web.post("/webhooks/twilio", webhook), web.get("/healthz", healthz)])
    return app


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.bare_server", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--auth-token", required=True)
    p.add_argument("--public-url", required=True)
    args = p.parse_args(argv)
    app = make_app(args.auth_token, args.public_url.rstrip("/"))

    async def ready(_app: web.Application) -> None:
        print(READY, flush=True)

    app.on_startup.append(ready)
    loop = new_event_loop(os.environ.get("OMNIGATE_EVENT_LOOP", "auto"))
    web.run_app(
        app,
        host=args.host,
        port=args.port,
        reuse_port=True,
        access_log=None,
        print=None,
        loop=loop,
    )
    return 0


# -- the bench's side: start N processes on one port -------------------------------------


@dataclass
class BareServer:
    processes: list[asyncio.subprocess.Process]
    base_url: str
    log_path: Path

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes]

    async def wait_ready(self, timeout: float = 20.0) -> None:
        """Until every process printed that it is ready (its port is bound right after)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(re.findall(READY, self.log_path.read_text(errors="replace"))) < len(
            self.processes
        ):
            if any(p.returncode is not None for p in self.processes) or loop.time() > deadline:
                raise RuntimeError("bare server did not start: " + self.log_path.read_text())
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)

    async def stop(self) -> list[int | None]:
        for process in self.processes:
            if process.returncode is None:
                process.terminate()
        return [await process.wait() for process in self.processes]


async def start_bare(count: int, auth_token: str, log_path: Path) -> BareServer:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    processes = []
    with log_path.open("wb") as log:
        for _ in range(count):
            processes.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bench.bare_server",
                    "--port",
                    str(port),
                    "--auth-token",
                    auth_token,
                    "--public-url",
                    base_url,
                    cwd=REPO,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log,
                    stderr=asyncio.subprocess.STDOUT,
                )
            )
    return BareServer(processes, base_url, log_path)


if __name__ == "__main__":
    sys.exit(main())
