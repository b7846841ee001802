"""`python -m processors`: one Faust worker running every agent."""

from __future__ import annotations

import logging

from faust import Worker

from observability.logs import configure_logging
from processors.app import app, settings
from processors.kafka_lag import register_consumer_lag
from processors.meters import agents as meter_agents
from processors.payments import agents as payment_agents
from processors.probe import agents as probe_agents
from processors.web import register_pages

AGENT_MODULES = (probe_agents, payment_agents, meter_agents)


class QuietWorker(Worker):
    """Faust's worker without its terminal spinner, which forces the root logger to DEBUG."""

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        logger.setLevel(settings.log_level.upper())


def main() -> None:
    configure_logging(settings.worker_id, settings.log_level)
    register_pages(app)
    register_consumer_lag(app)
    worker = QuietWorker(
        app,
        loglevel=settings.log_level,
        override_logging=False,
        redirect_stdouts=False,
        quiet=True,
    )
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
