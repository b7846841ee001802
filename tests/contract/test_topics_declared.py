"""Code uses no topic that topics.yaml does not declare."""

from __future__ import annotations

import ast
from pathlib import Path

import yaml

from messaging import topics

ROOT = Path(__file__).resolve().parents[2]
CODE_DIRS = ("ingress", "processors", "sandbox", "launcher", "messaging", "bench", "schemas")
TOPICS_MODULE = ROOT / "messaging" / "topics.py"


def _declared() -> dict[str, dict[str, object]]:
    loaded = yaml.safe_load((ROOT / "topics.yaml").read_text())
    declared: dict[str, dict[str, object]] = loaded["topics"]
    return declared


def _topic_constants() -> dict[str, str]:
    return {
        name: value
        for name, value in vars(topics).items()
        if name.isupper()
        and isinstance(value, str)
        and name not in {"REPLY_TOPIC_PREFIX", "SLOT_SUFFIX"}
        and not name.endswith("_FILE")
    }


def test_every_topic_constant_is_declared_and_every_declared_topic_has_one() -> None:
    constants = set(_topic_constants().values())
    assert constants == set(_declared())


def test_every_declared_topic_names_its_key_value_producers_and_consumers() -> None:
    for name, spec in _declared().items():
        for field in ("partitions", "key", "value", "producers", "consumers"):
            assert field in spec, f"{name} lacks {field}"
        assert int(str(spec["partitions"])) >= 1


def test_only_topics_whose_producers_the_local_stack_runs_rotate() -> None:
    # Slot topics exist only on the embedded broker, where the sandbox is the payments
    # service; an outside producer (an order system on ride-events) knows only the name.
    local = {"ingress", "contractor-merch-payments", "processors"}
    for name in topics.rotated_topics():
        producers = _declared()[name]["producers"]
        assert isinstance(producers, list)
        assert set(producers) <= local, name
    assert topics.RIDE_EVENTS not in topics.rotated_topics()


def test_slot_topics_are_declared_through_their_base() -> None:
    assert topics.is_declared("payment-requests.r1")
    assert topics.base_topic("payment-requests.r1") == "payment-requests"
    assert not topics.is_declared("payments.r1")


def test_reply_topics_follow_the_declared_pattern() -> None:
    loaded = yaml.safe_load((ROOT / "topics.yaml").read_text())
    pattern = loaded["reply_topics"]["pattern"]
    assert topics.reply_topic("x") == pattern.replace("{instance}", "x")


def _string_literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    ]


def _looks_like_topic(value: str, declared: set[str]) -> bool:
    return value in declared or value.startswith(topics.REPLY_TOPIC_PREFIX)


def test_no_code_names_a_topic_outside_messaging_topics() -> None:
    declared = set(_declared())
    offenders = []
    for directory in CODE_DIRS:
        for path in sorted((ROOT / directory).rglob("*.py")):
            if path == TOPICS_MODULE:
                continue
            for line, value in _string_literals(path):
                if _looks_like_topic(value, declared):
                    offenders.append(f"{path.relative_to(ROOT)}:{line}: {value!r}")
    assert not offenders, "use messaging.topics constants instead of literals:\n" + "\n".join(
        offenders
    )


def test_the_check_catches_a_literal_topic(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('producer.send("payment-requests", b"x")\n')
    literals = _string_literals(sample)
    assert any(_looks_like_topic(value, set(_declared())) for _, value in literals)
