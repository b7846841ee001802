"""`python -m ops`: the operator's command line (also `make ops ARGS="..."`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from aiokafka.errors import KafkaError

from ops import dead_letters, reconcile, trace
from ops.settings import OpsSettings
from processors.settings import parse_settings

DESCRIPTION = """\
Tools for the on-call engineer, against the local run (`make run`) or any cluster the
environment names: KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL, PAYMENTS_SERVICE_URL (the same
variables every process reads; a .env file may provide them).

  dlq list | show OFFSET | redrive ...   dead letters: what failed, why, send them back
  trace ID                               a payment's or an order's whole story
  reconcile --since 24h [--fix]          our payments against the payments service

`python -m ops COMMAND --help` explains each one. docs/runbook.md says when to use which.
"""


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m ops",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    dead_letters.add_commands(commands)
    trace.add_commands(commands)
    reconcile.add_commands(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # The client libraries' own connection warnings would repeat the one line printed below.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    # A bad setting: one line naming the variable, never its value (it may be a secret).
    settings = parse_settings(OpsSettings, "ops")
    try:
        code: int = asyncio.run(args.run(settings, args))
    except (OSError, TimeoutError, KafkaError) as exc:
        print(
            f"error: {type(exc).__name__}: {exc} (is the system running? check "
            "KAFKA_BOOTSTRAP_SERVERS, DATABASE_URL, PAYMENTS_SERVICE_URL)",
            file=sys.stderr,
        )
        return 3
    return code


if __name__ == "__main__":
    sys.exit(main())
