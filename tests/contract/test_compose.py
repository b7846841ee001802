"""compose.yaml runs the same system; Docker is not here, so check what reading can."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import yaml

from launcher.kafka_security import MECHANISM, ROLES

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())
    return loaded


def test_every_service_command_is_a_module_of_this_project() -> None:
    for name, service in _compose()["services"].items():
        command = service.get("command")
        if command is None:
            continue
        assert command[:2] == ["python", "-m"], name
        module = command[2]
        assert importlib.util.find_spec(module) is not None, f"{name}: no module {module}"
        if "." not in module:
            assert (ROOT / module / "__main__.py").exists(), f"{name}: {module} is not runnable"


def test_runs_apache_kafka_postgres_two_ingresses_and_two_workers() -> None:
    services = _compose()["services"]
    assert services["kafka"]["image"].startswith("apache/kafka")
    assert services["kafka"]["entrypoint"][-1] == "/deploy/kafka/start.sh"
    assert "process.roles=broker,controller" in (ROOT / "deploy/kafka/start.sh").read_text()
    assert services["postgres"]["image"].startswith("postgres")
    commands = [" ".join(s.get("command", [])) for s in services.values()]
    assert commands.count("python -m ingress") == 2
    assert commands.count("python -m processors") == 2


def test_each_process_connects_to_kafka_as_its_role() -> None:
    """SASL/SCRAM like `KAFKA_SECURITY=sasl make run`: the broker knows every role's user."""
    principals = {"ingress": "ingress", "processors": "processors", "sandbox": "payments"}
    for name, service in _compose()["services"].items():
        command = service.get("command")
        if command is None or command[:2] != ["python", "-m"]:
            continue
        environment = service["environment"]
        assert environment["KAFKA_SASL_MECHANISM"] == MECHANISM, name
        assert environment["KAFKA_SASL_USERNAME"] == principals.get(command[2], "admin"), name
        assert environment["KAFKA_SASL_PASSWORD"].startswith("${KAFKA_PASSWORD_"), name
    start = (ROOT / "deploy/kafka/start.sh").read_text()
    for role in ROLES:
        assert f'--add-scram "$MECHANISM=[name={role},' in start


def test_each_ingress_and_worker_has_its_own_identity() -> None:
    services = _compose()["services"]
    ingress_ids = {
        s["environment"]["INGRESS_INSTANCE_ID"]
        for s in services.values()
        if s.get("command") == ["python", "-m", "ingress"]
    }
    worker_ids = {
        s["environment"]["WORKER_ID"]
        for s in services.values()
        if s.get("command") == ["python", "-m", "processors"]
    }
    assert len(ingress_ids) == 2 and len(worker_ids) == 2


def test_apps_wait_for_setup_which_waits_for_kafka_and_postgres() -> None:
    services = _compose()["services"]
    assert set(services["setup"]["depends_on"]) == {"kafka", "postgres"}
    for name, service in services.items():
        if name not in {"kafka", "postgres", "setup", "prometheus", "grafana"}:
            assert "setup" in service["depends_on"], name


def test_prometheus_scrapes_every_ingress_and_worker_on_its_port() -> None:
    services = _compose()["services"]
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = {
        target
        for job in config["scrape_configs"]
        for static in job["static_configs"]
        for target in static["targets"]
    }
    expected = set()
    for name, service in services.items():
        env = service.get("environment", {})
        if service.get("command") == ["python", "-m", "ingress"]:
            expected.add(f"{name}:{env['INGRESS_INTERNAL_PORT']}")
        if service.get("command") == ["python", "-m", "processors"]:
            expected.add(f"{name}:{env['WORKER_WEB_PORT']}")
        command = service.get("command", [])
        if command[:3] == ["python", "-m", "ops"] and "--metrics-port" in command:
            expected.add(f"{name}:{command[command.index('--metrics-port') + 1]}")
    assert targets == expected
    mounted = " ".join(services["prometheus"]["volumes"])
    assert "deploy/prometheus/prometheus.yml" in mounted


def test_only_the_partner_ports_are_published_and_dev_tools_on_loopback() -> None:
    services = _compose()["services"]
    for name, service in services.items():
        ports = service.get("ports", [])
        if service.get("command") == ["python", "-m", "ingress"]:
            internal = service["environment"]["INGRESS_INTERNAL_PORT"]
            assert all(p.endswith(f":{service['environment']['INGRESS_PORT']}") for p in ports), (
                name
            )
            assert not any(p.endswith(f":{internal}") for p in ports), name
        elif ports:
            assert service.get("profiles") == ["dev"], name
            assert all(p.startswith("127.0.0.1:") for p in ports), name


def test_images_run_as_a_non_root_user_and_leave_the_env_file_out() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text().splitlines()
    users = [line.split()[1] for line in dockerfile if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ".env" in ignored
