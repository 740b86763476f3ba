"""The production layout (docker-compose.yaml, .env.example, Dockerfile), checked by parsing:
there is no Docker engine in CI, so nothing here starts a container."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yaml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERFILE = REPO / "Dockerfile"

AIRFLOW_SERVICES = {"airflow-apiserver": "api-server", "airflow-scheduler": "scheduler",
                    "airflow-dag-processor": "dag-processor", "airflow-triggerer": "triggerer",
                    "airflow-worker": "celery worker"}


# ------------------------------------------------------------------ helpers
def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose-style ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}, $VAR and
    $$, with nesting (https://docs.docker.com/reference/compose-file/interpolation/)."""
    out, i = [], 0
    while i < len(text):
        if text.startswith("$$", i):
            out.append("$")
            i += 2
        elif text.startswith("${", i):
            depth, j = 1, i + 2
            while depth:
                if text.startswith("${", j):
                    depth, j = depth + 1, j + 2
                    continue
                depth -= text[j] == "}"
                j += 1
            body = text[i + 2:j - 1]
            m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])(.*))?$", body, re.S)
            assert m, f"bad interpolation ${{{body}}}"
            name, op, rest = m.groups()
            value = env.get(name)
            if op in (":-", "-"):
                if value is None or (op == ":-" and value == ""):
                    value = interpolate(rest, env)
            elif op in (":?", "?"):
                if value is None or (op == ":?" and value == ""):
                    raise KeyError(f"{name}: {rest}")
            out.append(value or "")
            i = j
        elif (m := re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)", text[i:])):
            out.append(env.get(m.group(1), ""))
            i += m.end()
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def parse_env_file(path: Path) -> tuple[dict[str, str], set[str]]:
    """Assignments (interpolated in order, as Compose does for .env) and the names of
    commented-out assignments (``# NAME=value``)."""
    values: dict[str, str] = {}
    commented: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"#\s*([A-Z_][A-Z0-9_]*)=", line):
            commented.add(m.group(1))
            continue
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Z_][A-Z0-9_]*", key), f"bad line in .env.example: {line!r}"
        assert key not in values, f"{key} set twice"
        values[key] = interpolate(value.strip(), values)
    return values, commented


def code_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for folder in ("src", "dags")
                     for p in sorted((REPO / folder).rglob("*.py")))


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def env_example():
    return parse_env_file(ENV_EXAMPLE)


@pytest.fixture(scope="module")
def common_env(compose) -> dict:
    return compose["x-airflow-common"]["environment"]


def resolved(value: str, env_example) -> str:
    return interpolate(str(value), env_example[0])


# ------------------------------------------------------------------ services
def test_celery_executor_in_common_env(compose, common_env):
    assert common_env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert compose["x-airflow-common"]["env_file"] in (".env", [".env"])
    # Every Airflow service is built on the common block (anchor merged in).
    for name in [*AIRFLOW_SERVICES, "airflow-init"]:
        assert compose["services"][name]["environment"]["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name


def test_services_and_commands(compose):
    services = compose["services"]
    for name, command in AIRFLOW_SERVICES.items():
        assert name in services, name
        assert services[name]["command"] == command, name
    assert "redis" in services and services["redis"]["image"].startswith("redis:")
    assert "webserver" not in " ".join(str(s.get("command", "")) for s in services.values())  # Airflow 3
    assert services["flower"]["profiles"] == ["flower"]


def test_two_distinct_postgres_servers(compose):
    pg = {name: s for name, s in compose["services"].items() if str(s.get("image", "")).startswith("postgres:")}
    assert set(pg) == {"postgres-metadata", "postgres-warehouse"}
    volumes = {name: s["volumes"][0].split(":")[0] for name, s in pg.items()}
    assert len(set(volumes.values())) == 2, volumes            # separate data, not two databases in one
    for s in pg.values():
        assert "pg_isready" in " ".join(s["healthcheck"]["test"])


def test_metadata_db_and_warehouse_are_different_services(compose, common_env, env_example):
    services = compose["services"]
    metadata = urlsplit(resolved(common_env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], env_example))
    result_backend = urlsplit(resolved(common_env["AIRFLOW__CELERY__RESULT_BACKEND"], env_example))
    warehouse = urlsplit(resolved(common_env["AIRFLOW_CONN_WAREHOUSE_DEFAULT"], env_example))
    assert metadata.hostname == result_backend.hostname == "postgres-metadata"
    assert warehouse.hostname == "postgres-warehouse"
    assert warehouse.scheme in ("postgres", "postgresql")
    assert {metadata.hostname, warehouse.hostname} <= set(services)
    # The default in the compose file (without .env's override) points there too.
    without_override = {k: v for k, v in env_example[0].items() if k != "AIRFLOW_CONN_WAREHOUSE_DEFAULT"}
    assert urlsplit(interpolate(common_env["AIRFLOW_CONN_WAREHOUSE_DEFAULT"], without_override)).hostname \
        == "postgres-warehouse"
    # Credentials line up with what the two servers are created with.
    for url, svc in ((metadata, "postgres-metadata"), (warehouse, "postgres-warehouse")):
        pg_env = {k: resolved(v, env_example) for k, v in services[svc]["environment"].items()}
        assert (url.username, url.password, url.path.lstrip("/")) == \
            (pg_env["POSTGRES_USER"], pg_env["POSTGRES_PASSWORD"], pg_env["POSTGRES_DB"]), svc
    broker = urlsplit(resolved(common_env["AIRFLOW__CELERY__BROKER_URL"], env_example))
    assert broker.hostname == "redis" and broker.password == env_example[0]["REDIS_PASSWORD"]


def test_execution_api_points_at_the_api_server(compose, common_env):
    url = urlsplit(common_env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert url.hostname == "airflow-apiserver" and url.port == 8080 and url.path == "/execution/"
    ports = compose["services"]["airflow-apiserver"]["ports"]
    assert any(str(p).endswith(":8080") for p in ports)
    assert common_env["AIRFLOW__API_AUTH__JWT_SECRET"].startswith("${")     # one shared secret from .env


def test_mounts_and_lifecircle_paths(compose, common_env):
    volumes = compose["x-airflow-common"]["volumes"]
    sources = {v.split(":")[0]: v.split(":")[1] for v in volumes}
    for folder in ("dags", "plugins", "include", "expectations", "config"):
        assert f"./{folder}" in sources, folder
    assert sources["./dags"] == "/opt/airflow/dags" and sources["./plugins"] == "/opt/airflow/plugins"
    assert common_env["LIFECIRCLE_HOME"] == "/opt/lifecircle"
    for folder in ("include", "expectations", "config"):
        assert sources[f"./{folder}"] == f"/opt/lifecircle/{folder}"
    data_mount = sources["lifecircle-data"]
    assert "lifecircle-data" in compose["volumes"]
    for var in ("LIFECIRCLE_STATE_DIR", "LIFECIRCLE_LANDING_DIR", "LIFECIRCLE_REPORTS_DIR", "LIFECIRCLE_UPLOAD_STORE"):
        path = interpolate(common_env[var], {})
        assert path == data_mount or path.startswith(data_mount + "/"), var
    named = {s for s in sources if not s.startswith(".")}
    assert named <= set(compose["volumes"])


def test_healthchecks_init_and_scaling(compose):
    services = compose["services"]
    for name, s in services.items():
        if name in ("airflow-init", "airflow-cli"):
            continue
        assert "healthcheck" in s, name
    init = services["airflow-init"]
    script = " ".join(map(str, init["command"]))
    assert "airflow db migrate" in script
    assert "users create" in script and "SIMPLE_AUTH_MANAGER_PASSWORDS_FILE" in script
    for name in AIRFLOW_SERVICES:
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
        assert services[name]["depends_on"]["postgres-metadata"]["condition"] == "service_healthy"
    worker = services["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker          # --scale airflow-worker=N
    assert not any("container_name" in s for s in services.values())


# ------------------------------------------------------------------ .env.example
def test_connections_match_the_code(env_example):
    values, _ = env_example
    in_env = {k[len("AIRFLOW_CONN_"):].lower() for k in values if k.startswith("AIRFLOW_CONN_")}
    in_code = set(re.findall(r"get_connection\(\s*[\"']([A-Za-z0-9_]+)[\"']\s*\)", code_text()))
    assert in_code, "no get_connection(...) ids found under src/ and dags/"
    assert in_env == in_code


def test_connections_parse_as_the_code_reads_them(env_example, monkeypatch):
    from lifecircle import settings

    values, _ = env_example
    for key, value in values.items():
        if key.startswith("AIRFLOW_CONN_"):
            monkeypatch.setenv(key, value)
    wh = settings.get_connection("warehouse_default")
    assert wh.host == "postgres-warehouse" and wh.password == values["WAREHOUSE_DB_PASSWORD"]
    assert settings.warehouse_url().startswith("postgresql+psycopg2://")
    registry = settings.get_connection("registry_api")
    assert registry.password and registry.conn_type in ("http", "https")
    amap = settings.get_connection("amap_api")
    assert amap.password and amap.extra.get("qps") == "3"
    assert amap.base_url.startswith("https://")


def test_every_lifecircle_setting_is_documented(env_example):
    values, commented = env_example
    used = set(re.findall(r"[\"'](LIFECIRCLE_[A-Z0-9_]+)[\"']", code_text()))
    assert {"LIFECIRCLE_CITY", "LIFECIRCLE_STATE_DIR", "LIFECIRCLE_PII_SALT"} <= used
    assert used - set(values) - commented == set()


def test_no_dead_settings(env_example):
    """Every .env.example line is read by Airflow, by the code, or by docker-compose.yaml."""
    values, commented = env_example
    compose_text = COMPOSE.read_text(encoding="utf-8")
    code = code_text()
    for key in [*values, *commented]:
        by_airflow = key.startswith(("AIRFLOW_CONN_", "AIRFLOW__"))
        assert by_airflow or f"${{{key}" in compose_text or f'"{key}"' in code, key


def test_no_real_secrets(env_example):
    values, _ = env_example
    for key, value in values.items():
        if re.search(r"PASSWORD|SECRET|TOKEN|SALT|FERNET", key):
            assert value == "" or "change-me" in value, key
    for key in ("AIRFLOW_CONN_REGISTRY_API", "AIRFLOW_CONN_AMAP_API"):
        assert "change-me" in (urlsplit(values[key]).password or ""), key
    assert values["AIRFLOW_CONN_WAREHOUSE_DEFAULT"].count("change-me") == 1


def test_every_compose_variable_is_in_env_example(env_example):
    """${VAR} without a default must be in .env.example (with one, it may be)."""
    values, _ = env_example
    text = COMPOSE.read_text(encoding="utf-8").replace("$$", "")
    required = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:\}|:?\?)", text))
    assert required - set(values) == set()
    every = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", text))
    assert every - set(values) <= {"AIRFLOW__CORE__AUTH_MANAGER"}


# ------------------------------------------------------------------ Dockerfile
def test_dockerfile_pins_the_locked_airflow():
    text = DOCKERFILE.read_text(encoding="utf-8")
    lock = (REPO / "uv.lock").read_text(encoding="utf-8")
    locked = re.search(r'\[\[package\]\]\nname = "apache-airflow"\nversion = "([^"]+)"', lock).group(1)
    bases = re.findall(r"^FROM\s+(\S+)", text, re.M)
    assert f"apache/airflow:{locked}-python3.11" in bases
    assert "uv export --frozen" in text and "--no-deps" in text
    for path in ("pyproject.toml", "uv.lock", "src/", "config/", "include/", "expectations/"):
        assert re.search(rf"^COPY\b.*\s{re.escape(path)}(\s|$)", text, re.M), path
    assert "LIFECIRCLE_HOME=/opt/lifecircle" in text


# ------------------------------------------------------------------ airflow-init's script
def _run_init(compose, tmp_path: Path, auth_manager: str, fail: str = "") -> tuple[int, list[str], Path]:
    """Run airflow-init's shell script (after Compose's $$ -> $) with stub `airflow` and
    `lifecircle` commands that record their arguments."""
    script = interpolate(compose["services"]["airflow-init"]["command"][2], {})
    stubs = tmp_path / "bin"
    stubs.mkdir()
    calls = tmp_path / "calls.txt"
    for name in ("airflow", "lifecircle"):
        stub = stubs / name
        stub.write_text(f'#!/bin/sh\necho "{name} $*" >> "{calls}"\n'
                        f'[ "{name} $*" = "{fail}" ] && exit 3\n'
                        f'[ "$1" = version ] && echo 3.3.2\nexit 0\n')
        stub.chmod(0o755)
    data = tmp_path / "data"
    passwords = tmp_path / "auth" / "passwords.json"
    passwords.parent.mkdir()
    env = {"PATH": f"{stubs}:{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path),
           "LIFECIRCLE_STATE_DIR": str(data), "LIFECIRCLE_LANDING_DIR": str(data / "landing"),
           "LIFECIRCLE_REPORTS_DIR": str(data / "reports"), "LIFECIRCLE_UPLOAD_STORE": str(data / "upload_store"),
           "AIRFLOW__CORE__AUTH_MANAGER": auth_manager,
           "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
           "_AIRFLOW_WWW_USER_USERNAME": "admin", "_AIRFLOW_WWW_USER_PASSWORD": 'pa"ss word'}
    proc = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60,
                          cwd=str(tmp_path))
    lines = calls.read_text().splitlines() if calls.exists() else []
    return proc.returncode, lines, passwords


def test_init_script_simple_auth_manager(compose, tmp_path):
    rc, calls, passwords = _run_init(
        compose, tmp_path, "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager")
    assert rc == 0
    assert calls == ["airflow version", "airflow db migrate", "lifecircle migrate"]
    assert json.loads(passwords.read_text()) == {"admin": 'pa"ss word'}
    assert passwords.stat().st_mode & 0o077 == 0                      # readable by the owner only
    for sub in ("landing", "reports", "upload_store"):
        assert (tmp_path / "data" / sub).is_dir()


def test_init_script_fab_and_failure(compose, tmp_path):
    fab = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager"
    rc, calls, passwords = _run_init(compose, tmp_path, fab)
    assert rc == 0 and not passwords.exists()
    assert calls[:3] == ["airflow version", "airflow db migrate", "airflow users list"]
    assert calls[3].startswith("airflow users create --role Admin --username admin --password pa\"ss word")
    assert calls[-1] == "lifecircle migrate"


def test_init_script_stops_on_a_failed_migration(compose, tmp_path):
    rc, calls, _ = _run_init(compose, tmp_path, "SimpleAuthManager", fail="airflow db migrate")
    assert rc != 0 and calls[-1] == "airflow db migrate"
