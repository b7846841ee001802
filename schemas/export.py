"""`make schemas`: write the JSON Schema of every model in `schemas/` to `schemas/json/`.

The exported files are what other teams read; a test fails when they are stale.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
from pathlib import Path

from pydantic import BaseModel

import schemas

OUTPUT_DIR = Path(__file__).resolve().parent / "json"


def exported_schemas() -> dict[str, str]:
    """File name -> JSON text, for every model defined in a `schemas` module."""
    files: dict[str, str] = {}
    for module_info in pkgutil.iter_modules(schemas.__path__):
        if module_info.name == "export":
            continue
        module = importlib.import_module(f"schemas.{module_info.name}")
        for name, obj in vars(module).items():
            if (
                inspect.isclass(obj)
                and issubclass(obj, BaseModel)
                and obj.__module__ == module.__name__
            ):
                schema = obj.model_json_schema()
                text = json.dumps(schema, indent=2, sort_keys=True) + "\n"
                files[f"{module_info.name}.{name}.json"] = text
    return files


def main() -> None:
    OUTPUT_DIR.mkdir(exist_ok=True)
    files = exported_schemas()
    for stale in OUTPUT_DIR.glob("*.json"):
        if stale.name not in files:
            stale.unlink()
    for name, text in files.items():
        (OUTPUT_DIR / name).write_text(text)
    print(f"wrote {len(files)} schemas to {OUTPUT_DIR.name}/")


if __name__ == "__main__":
    main()
