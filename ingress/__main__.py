"""`python -m ingress`: one ingress instance under uvicorn."""

from __future__ import annotations

import sys

import uvicorn
from pydantic import ValidationError

from ingress.app import create_app
from ingress.partners import InvalidPartnerKeys
from ingress.settings import IngressSettings
from observability.logs import configure_logging


def main() -> None:
    try:
        settings = IngressSettings()
        configure_logging(settings.ingress_instance_id, settings.log_level)
        app = create_app(settings)
    except ValidationError as exc:
        names = ", ".join(str(error["loc"][0]).upper() for error in exc.errors() if error["loc"])
        sys.exit(f"invalid ingress configuration: {names}")
    except InvalidPartnerKeys as exc:
        sys.exit(f"invalid ingress configuration: {exc}")
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
