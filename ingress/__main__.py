"""`python -m ingress`: one ingress instance under uvicorn."""

from __future__ import annotations

import uvicorn

from ingress.app import create_app
from ingress.settings import IngressSettings
from observability.logs import configure_logging


def main() -> None:
    settings = IngressSettings()
    configure_logging(settings.ingress_instance_id, settings.log_level)
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.ingress_host,
        port=settings.ingress_port,
        log_config=None,
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
