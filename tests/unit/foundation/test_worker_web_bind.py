"""The worker's web server (/metrics, /health) binds the host its setting names."""

from __future__ import annotations

from processors.app import app
from processors.settings import WorkerSettings


def test_the_worker_web_server_binds_the_configured_host() -> None:
    # Faust binds `web_bind` (0.0.0.0 unless set), whatever `web_host` says.
    assert app.conf.web_bind == WorkerSettings().worker_web_host
