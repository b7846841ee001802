"""`python -m launcher.setup`: topics and migrations on an existing broker and database.

The one-shot job of `compose.yaml` (and of any deployment): everything `make run`
prepares, without starting anything, with KAFKA_REPLICATION_FACTOR and
KAFKA_MIN_INSYNC_REPLICAS (default 1) for every topic. Ingress reply topics are created
by each ingress at start. With KAFKA_SASL_* (the admin principal) it also writes the ACLs
of every role (launcher/kafka_security.py).
"""

from __future__ import annotations

import asyncio
import os
import sys

import local_defaults
from launcher.kafka_security import acl_rules, create_acls
from launcher.kafka_topics import ensure_topics, system_topics
from launcher.logs import Log, OutputSink
from launcher.migrate import run_migrations
from messaging.kafka_auth import KafkaAuth


async def _setup(
    bootstrap_servers: str, database_url: str, log: Log, replication: tuple[int, int]
) -> int:
    replication_factor, min_insync_replicas = replication
    auth = KafkaAuth.from_env(os.environ)  # compose: the admin principal
    created = await ensure_topics(
        bootstrap_servers,
        system_topics([]),
        within=120.0,
        replication_factor=replication_factor,
        min_insync_replicas=min_insync_replicas,
        auth=auth,
    )
    log.info("topics ready", bootstrap_servers=bootstrap_servers, created=created)
    if auth.enabled:  # a secured cluster: what each role may do (launcher/kafka_security.py)
        await create_acls(bootstrap_servers, auth, acl_rules())
        log.info("ACLs ready", principal=auth.username)
    return await run_migrations(database_url, log)


def main() -> int:
    log = Log(OutputSink(prefixed=False), process="setup")
    bootstrap_servers = (
        os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or local_defaults.KAFKA_BOOTSTRAP_SERVERS
    )
    database_url = os.environ.get("DATABASE_URL") or local_defaults.DATABASE_URL
    replication = (
        int(os.environ.get("KAFKA_REPLICATION_FACTOR") or 1),
        int(os.environ.get("KAFKA_MIN_INSYNC_REPLICAS") or 1),
    )
    return asyncio.run(_setup(bootstrap_servers, database_url, log, replication))


if __name__ == "__main__":
    sys.exit(main())
