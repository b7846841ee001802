"""A processors worker with a crash point, for the crash tests only.

Run as `python -m tests.integration.payments.crashing_worker` (the crash tests'
`worker_command`): the production worker (`processors.bootstrap.main`) with its
authorize use case wrapped. While the file named by PAYMENTS_CRASH_FILE exists,
the worker exits at once (status 137, as SIGKILL would) after an authorization
is final in PostgreSQL and right before its reply is produced; it deletes the
file first, so one crash per arming.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import structlog

from processors.bootstrap import main
from processors.payments.ports import ReplyAddress
from processors.payments.use_cases import AuthorizeCase
from processors.wiring import UseCases
from schemas.envelope import Reply
from schemas.payments import AuthorizePayment

log = structlog.get_logger(__name__)


class CrashBeforeReply:
    def __init__(self, authorize: AuthorizeCase, armed: Path) -> None:
        self._authorize = authorize
        self._armed = armed

    async def __call__(
        self, command: AuthorizePayment, sender: ReplyAddress | None
    ) -> Reply | None:
        reply = await self._authorize(command, sender)
        if reply is not None and self._disarm():
            log.warning("payments_crash_point", point="before_reply")
            os._exit(137)
        return reply

    def _disarm(self) -> bool:
        try:
            self._armed.unlink()
        except FileNotFoundError:
            return False
        return True


def with_crash_point(use_cases: UseCases) -> UseCases:
    armed = Path(os.environ["PAYMENTS_CRASH_FILE"])
    payments = replace(
        use_cases.payments, authorize=CrashBeforeReply(use_cases.payments.authorize, armed)
    )
    return replace(use_cases, payments=payments)


if __name__ == "__main__":
    main(customize=with_crash_point)
