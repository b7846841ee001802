"""`python -m launcher` with a test configuration: the CLI's own run(), other ports and children.

Usage: python run_launcher.py '<StackConfig fields as JSON>'
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from launcher.__main__ import run
from launcher.stack import StackConfig


def main() -> int:
    fields = json.loads(sys.argv[1])
    fields["run_dir"] = Path(fields["run_dir"])
    return asyncio.run(run(StackConfig(**fields)))


if __name__ == "__main__":
    sys.exit(main())
