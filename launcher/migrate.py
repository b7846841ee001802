"""Versioned SQL migrations: `migrations/NNNN_name.sql`, applied in order, each once.

`python -m launcher.migrate` applies them to DATABASE_URL (used by the launcher and by
compose). Each file runs in its own transaction; a PostgreSQL advisory lock keeps two
runners from applying the same files at once; `schema_migrations` records what ran.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

import local_defaults
from launcher.logs import Log, OutputSink, redact_url

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Any fixed 64-bit number that no other part of the system uses as an advisory lock key.
ADVISORY_LOCK_KEY = 0x7461786_90001
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


class MigrationError(Exception):
    """A migration file is misnamed, duplicated, or failed to apply."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migration files of `directory`, by version; misnamed .sql files are an error."""
    migrations: dict[int, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        version = int(match.group(1))
        if version in migrations:
            raise MigrationError(
                f"{path.name}: version {version} also used by {migrations[version].path.name}"
            )
        migrations[version] = Migration(version, match.group(2), path)
    return [migrations[version] for version in sorted(migrations)]


async def apply_migrations(
    database_url: str, directory: Path = MIGRATIONS_DIR, log: Log | None = None
) -> list[Migration]:
    """Apply the migrations not applied yet; returns those applied by this call."""
    migrations = discover(directory)
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", ADVISORY_LOCK_KEY)
        try:
            await conn.execute(_CREATE_TABLE)
            applied = {
                row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")
            }
            done = []
            for migration in migrations:
                if migration.version in applied:
                    continue
                sql = migration.path.read_text()
                try:
                    async with conn.transaction():
                        await conn.execute(sql)
                        await conn.execute(
                            "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                            migration.version,
                            migration.name,
                        )
                except asyncpg.PostgresError as exc:
                    raise MigrationError(f"{migration.path.name} failed: {exc}") from exc
                done.append(migration)
                if log is not None:
                    log.info("migration applied", version=migration.version, name=migration.name)
            return done
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", ADVISORY_LOCK_KEY)
    finally:
        await conn.close()


async def ensure_database(database_url: str) -> bool:
    """Create the database named in the URL if it does not exist; True when created."""
    try:
        conn = await asyncpg.connect(database_url)
    except asyncpg.InvalidCatalogNameError:
        pass
    else:
        await conn.close()
        return False
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    conn = await asyncpg.connect(maintenance)
    try:
        quoted = '"' + name.replace('"', '""') + '"'
        await conn.execute(f"CREATE DATABASE {quoted}")
    except asyncpg.DuplicateDatabaseError:
        return False
    finally:
        await conn.close()
    return True


async def run_migrations(database_url: str, log: Log) -> int:
    """Create the database if missing and apply pending migrations; the exit status."""
    try:
        if await ensure_database(database_url):
            log.info("database created", database_url=redact_url(database_url))
        done = await apply_migrations(database_url, log=log)
    except (MigrationError, OSError, asyncpg.PostgresError) as exc:
        log.error("migrations failed", error=str(exc))
        return 1
    log.info("migrations up to date", applied=len(done), database_url=redact_url(database_url))
    return 0


def main() -> int:
    log = Log(OutputSink(prefixed=False), process="migrate")
    database_url = os.environ.get("DATABASE_URL") or local_defaults.DATABASE_URL
    return asyncio.run(run_migrations(database_url, log))


if __name__ == "__main__":
    sys.exit(main())
