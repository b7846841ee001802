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
        # A field's error names its variable (never its value, which may be a secret); a
        # rule across fields says what is wrong.
        problems = [
            str(error["loc"][0]).upper() if error["loc"] else str(error["msg"])
            for error in exc.errors()
        ]
        sys.exit(f"invalid ingress configuration: {', '.join(problems)}")
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
