"""The JSON Schemas in schemas/json/ match the models (run `make schemas` when this fails)."""

from __future__ import annotations

from schemas.export import OUTPUT_DIR, exported_schemas


def test_exported_json_schemas_are_up_to_date() -> None:
    expected = exported_schemas()
    on_disk = {path.name: path.read_text() for path in OUTPUT_DIR.glob("*.json")}
    stale = sorted(name for name in expected if on_disk.get(name) != expected[name])
    extra = sorted(set(on_disk) - set(expected))
    assert not stale and not extra, f"run `make schemas`; stale: {stale}, extra: {extra}"


def test_every_message_model_is_exported() -> None:
    names = set(exported_schemas())
    assert "envelope.Reply.json" in names
    assert "rides.RideEvent.json" in names
