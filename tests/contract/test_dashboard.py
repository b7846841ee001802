"""Every metric the Grafana dashboard queries is one the code exports."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy/grafana/dashboards/taxi-integrations.json"
CODE_DIRS = ("ingress", "processors", "observability")
METRIC_KINDS = {"Counter", "Gauge", "Histogram", "Summary", "WindowedMax", "GaugeMetricFamily"}
# What prometheus-client appends to a metric's name in the exposition.
SUFFIXES = ("_total", "_bucket", "_sum", "_count", "_created")
PROMQL_WORDS = {
    "sum",
    "by",
    "rate",
    "increase",
    "max",
    "min",
    "avg",
    "histogram_quantile",
    "or",
    "and",
    "le",
    "without",
    "on",
    "ignoring",
}


def exported_metric_names() -> set[str]:
    names: set[str] = set()
    for directory in CODE_DIRS:
        for path in (ROOT / directory).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in METRIC_KINDS
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    names.add(node.args[0].value)
    return names


def queried_metric_names() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    names: set[str] = set()
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\([a-z_, ]*\)(?=\s*\()", " ", target["expr"])
            expr = re.sub(r"by \([^)]*\)", " ", expr)
            for word in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
                if word not in PROMQL_WORDS:
                    names.add(word)
    return names


def _base(name: str, exported: set[str]) -> str | None:
    if name in exported:
        return name
    for suffix in SUFFIXES:
        if name.endswith(suffix) and name.removesuffix(suffix) in exported:
            return name.removesuffix(suffix)
    return None


def test_every_queried_metric_is_exported_by_the_code() -> None:
    exported = exported_metric_names()
    queried = queried_metric_names()
    assert len(queried) >= 10
    unknown = sorted(name for name in queried if _base(name, exported) is None)
    assert not unknown, f"the dashboard queries metrics no code exports: {unknown}"


def test_the_check_notices_an_unknown_metric() -> None:
    exported = exported_metric_names()
    assert _base("peer_call_duration_seconds_bucket", exported) == "peer_call_duration_seconds"
    assert _base("no_such_metric_total", exported) is None


def test_compose_mounts_the_dashboard_and_its_datasource() -> None:
    provisioning = ROOT / "deploy/grafana/provisioning"
    assert (provisioning / "datasources/prometheus.yml").exists()
    assert "/var/lib/grafana/dashboards" in (provisioning / "dashboards/dashboards.yml").read_text()
