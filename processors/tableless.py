"""Faust's table manager for an app with no tables: no start-up pause.

faust-streaming's manager sleeps a second on start so that tables declared late can
register before the consumer subscribes; this app declares none, and that second is
added to every worker restart (a killed worker's partitions wait for it).
"""

from __future__ import annotations

from faust.tables import TableManager


class TablelessManager(TableManager):
    async def on_start(self) -> None:
        if not self.should_stop:
            await self._update_channels()
            await self.recovery.start()
