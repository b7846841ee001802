"""`python -m sandbox`: serve the fake peers on SANDBOX_PORT (default 8081)."""

from __future__ import annotations

import uvicorn

from observability.logs import configure_logging
from sandbox.app import create_app
from sandbox.settings import Settings


def main() -> None:
    settings = Settings()
    configure_logging("sandbox", settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.sandbox_host,
        port=settings.sandbox_port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
