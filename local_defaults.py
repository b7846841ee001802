"""Development defaults, in this one place: where the local run (`make run`, launcher/)
puts the broker, the database, the sandbox and each listener, and the keys it uses.

Every process (ingress, processors, sandbox, ops, launcher) falls back to these when
its environment variable is unset; production sets every variable. The keys are
development keys only: the ingress warns when it runs with them.
"""

from __future__ import annotations

HOST = "127.0.0.1"
BROKER_PORT = 9092
POSTGRES_PORT = 54329
DATABASE = "taxi"
SANDBOX_PORT = 8081
INGRESS_PORT = 8080
INGRESS_INTERNAL_PORT = 8090
WORKER_WEB_PORT = 6066

KAFKA_BOOTSTRAP_SERVERS = f"{HOST}:{BROKER_PORT}"
DATABASE_URL = f"postgresql://postgres@{HOST}:{POSTGRES_PORT}/{DATABASE}"
SANDBOX_URL = f"http://{HOST}:{SANDBOX_PORT}"

PARTNER_KEY = "dev-mobi-key"
PARTNER_KEYS = f"mobi={PARTNER_KEY}"
INTERNAL_KEY = "dev-internal-key"
INTERNAL_KEYS = f"order-events={INTERNAL_KEY}"
MONITEX_API_KEY = "dev-monitex-key"


def sandbox_peer_url(peer: str) -> str:
    """A peer's base URL on the local sandbox, which serves each peer under its name."""
    return f"{SANDBOX_URL}/{peer}"
