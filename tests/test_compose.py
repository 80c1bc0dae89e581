"""docker-compose.yml, deploy/nginx.conf and the Dockerfile are well formed and agree.

Docker does not run here, so this reads the files: PostgreSQL, Redis, two gateway workers
pointed at both, nginx in front of the two with WebSocket upgrades, health checks everywhere,
and only variables the gateway knows.
"""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from bot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
GATEWAYS = ("gateway-1", "gateway-2")
SETTINGS = {f"OMNIGATE_{f.name.upper()}" for f in fields(Settings) if f.name != "extra"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # resolves `<<: *gateway`
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def nginx() -> str:
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    return re.sub(r"#.*", "", text)


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the `- KEY=value` form
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def _depends(service: dict[str, Any]) -> dict[str, str]:
    depends = service.get("depends_on", {})
    if isinstance(depends, list):
        return {name: "service_started" for name in depends}
    return {name: spec.get("condition", "service_started") for name, spec in depends.items()}


def test_services_are_there(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) >= {"postgres", "redis", *GATEWAYS, "proxy"}
    assert "postgres" in services["postgres"]["image"]
    assert "redis" in services["redis"]["image"]
    assert "nginx" in services["proxy"]["image"]
    for name in GATEWAYS:
        assert services[name].get("build") in (".", {"context": "."}), name
    assert (ROOT / "Dockerfile").is_file()


def test_every_service_has_a_health_check(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check and check.get("test"), f"{name} has no health check"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert not check.get("disable"), name


def test_gateways_share_postgres_and_redis(services: dict[str, dict[str, Any]]) -> None:
    postgres = _env(services["postgres"])
    for name in GATEWAYS:
        env = _env(services[name])
        unknown = set(env) - SETTINGS
        assert not unknown, f"{name}: variables the gateway does not read: {unknown}"
        database = urlsplit(env["OMNIGATE_DATABASE_URL"])
        assert database.scheme.startswith("postgresql"), name
        assert database.hostname == "postgres", name
        assert database.username == postgres["POSTGRES_USER"], name
        assert database.password == postgres["POSTGRES_PASSWORD"], name
        assert database.path.lstrip("/") == postgres["POSTGRES_DB"], name
        redis = urlsplit(env["OMNIGATE_REDIS_URL"])
        assert redis.scheme == "redis" and redis.hostname == "redis", name
        assert env["OMNIGATE_HOST"] == "0.0.0.0", name  # reachable from the proxy
        assert env.get("OMNIGATE_PUBLIC_URL"), f"{name}: webhook signatures need the public URL"
        assert _depends(services[name]) == {
            "postgres": "service_healthy",
            "redis": "service_healthy",
        }, name
        # SIGTERM drains for OMNIGATE_SHUTDOWN_GRACE: Docker must wait longer than that.
        grace = float(env.get("OMNIGATE_SHUTDOWN_GRACE", Settings.shutdown_grace))
        assert _seconds(services[name].get("stop_grace_period", "10s")) > grace, name
    assert _env(services["gateway-1"]) == _env(services["gateway-2"])


def test_gateway_health_check_hits_its_own_port(services: dict[str, dict[str, Any]]) -> None:
    for name in GATEWAYS:
        port = _env(services[name])["OMNIGATE_PORT"]
        check = " ".join(services[name]["healthcheck"]["test"])
        assert f"127.0.0.1:{port}/healthz" in check, name


def test_proxy_waits_for_healthy_gateways(services: dict[str, dict[str, Any]]) -> None:
    proxy = services["proxy"]
    assert _depends(proxy) == dict.fromkeys(GATEWAYS, "service_healthy")
    mounts = [v.split(":") for v in proxy["volumes"]]
    conf = [m for m in mounts if m[0] == "./deploy/nginx.conf"]
    assert conf and conf[0][1].startswith("/etc/nginx/conf.d/")
    assert any(p.split(":")[-1] == "80" for p in proxy["ports"])


def test_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    used = {
        v.split(":")[0]
        for service in compose["services"].values()
        for v in service.get("volumes", [])
        if not v.startswith((".", "/"))
    }
    assert used <= set(compose.get("volumes") or {})


def test_nginx_balances_the_two_gateways(services: dict[str, dict[str, Any]], nginx: str) -> None:
    upstream = re.search(r"upstream\s+(\w+)\s*\{([^}]*)\}", nginx)
    assert upstream, "no upstream block"
    name, body = upstream.groups()
    servers = re.findall(r"^\s*server\s+([\w.-]+):(\d+)", body, re.M)
    expected = {(g, _env(services[g])["OMNIGATE_PORT"]) for g in GATEWAYS}
    assert set(servers) == expected
    assert re.search(rf"proxy_pass\s+http://{name}\s*;", nginx)
    assert re.search(r"listen\s+80\s*;", nginx)


def test_nginx_passes_websocket_upgrades(nginx: str) -> None:
    assert re.search(r"proxy_http_version\s+1\.1\s*;", nginx)
    assert re.search(r"proxy_set_header\s+Upgrade\s+\$http_upgrade\s*;", nginx)
    header = re.search(r"proxy_set_header\s+Connection\s+(\$\w+)\s*;", nginx)
    assert header, "no Connection header"
    variable = header.group(1)
    mapping = re.search(rf"map\s+\$http_upgrade\s+{re.escape(variable)}\s*\{{([^}}]*)\}}", nginx)
    assert mapping and re.search(r"default\s+upgrade\s*;", mapping.group(1))
    # The widget's socket stays open between messages (the server pings every 30 s).
    timeout = re.search(r"proxy_read_timeout\s+(\d+)s?\s*;", nginx)
    assert timeout is None or int(timeout.group(1)) > 30


def test_nginx_braces_balance(nginx: str) -> None:
    depth = 0
    for char in nginx:
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0
    assert depth == 0


def test_dockerfile_runs_the_gateway(services: dict[str, dict[str, Any]]) -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r'^CMD \["omnigate", "serve"', dockerfile, re.M)
    assert re.search(r"^EXPOSE 8080$", dockerfile, re.M)
    for package in ("bot", "adapters", "handlers", "storage"):
        assert re.search(rf"^COPY {package} {package}$", dockerfile, re.M), package
    assert re.search(r"^USER (?!root)\S+", dockerfile, re.M), "runs as root"


def _seconds(value: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)?", str(value).strip())
    assert match, value
    number, unit = float(match.group(1)), match.group(2) or "s"
    return number * {"ms": 0.001, "s": 1.0, "m": 60.0}[unit]
