"""One-shot job (compose service `es-setup`): Elasticsearch roles and users for Kabar's services.

Run with the `elastic` superuser, the only place that password is used besides Elasticsearch's own health
check. Idempotent: every run puts the roles and sets the users' passwords from the environment, so a
changed password in .env takes effect on the next `docker compose up`.

    kabar_publish  read-only on the read aliases (articles, related) + cluster health
    kabar_worker   the prefix's indices, the articles template, cluster health (bootstrap and workers)

Ingest never talks to Elasticsearch and gets no user. Passwords come from the environment, never argv.
KABAR_ES_URL is one node or several, comma-separated (docker-compose.cluster.yml gives every node).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from elasticsearch import Elasticsearch


def roles(prefix: str) -> dict[str, dict[str, Any]]:
    """The role definitions, by role name."""
    return {
        "kabar_publish": {
            "cluster": ["monitor"],
            "indices": [
                {
                    "names": [f"{prefix}-articles", f"{prefix}-related"],
                    "privileges": ["read", "view_index_metadata"],
                }
            ],
        },
        "kabar_worker": {
            "cluster": ["monitor", "manage_index_templates"],
            "indices": [
                {
                    "names": [f"{prefix}-*"],
                    "privileges": ["create_index", "delete_index", "manage", "read", "write", "view_index_metadata"],
                }
            ],
        },
    }


def users(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The users, by name: each with one role and its password from the environment."""
    return {
        "kabar_publish": {"roles": ["kabar_publish"], "password": env["ES_PUBLISH_PASSWORD"]},
        "kabar_worker": {"roles": ["kabar_worker"], "password": env["ES_WORKER_PASSWORD"]},
    }


def es_hosts(value: str) -> list[str]:
    """KABAR_ES_URL as the services read it (shared/es.py): one URL, or every node's, comma-separated."""
    hosts = [url.strip() for url in value.split(",") if url.strip()]
    if not hosts:
        raise ValueError("KABAR_ES_URL names no Elasticsearch node")
    return hosts


def apply(es: Elasticsearch, *, prefix: str, env: dict[str, str]) -> None:
    for name, body in roles(prefix).items():
        es.security.put_role(name=name, **body)
    for name, body in users(env).items():
        es.security.put_user(username=name, **body)


def main() -> int:
    env = dict(os.environ)
    missing = [k for k in ("ELASTIC_PASSWORD", "ES_PUBLISH_PASSWORD", "ES_WORKER_PASSWORD") if not env.get(k)]
    if missing:
        print(f"es-setup: {', '.join(missing)} not set", file=sys.stderr)
        return 1
    prefix = env.get("KABAR_PREFIX", "kabar")
    # Users and roles are the cluster's, so any node will do: given several, the client spreads the calls
    # over them and retries a call that fails on a node that is away on the next one.
    hosts = es_hosts(env.get("KABAR_ES_URL", "http://elasticsearch:9200"))
    es = Elasticsearch(
        hosts,
        basic_auth=("elastic", env["ELASTIC_PASSWORD"]),
        request_timeout=30,
        retry_on_timeout=True,
        max_retries=len(hosts),
    )
    for attempt in range(60):
        try:
            es.cluster.health(wait_for_status="yellow", timeout="5s")
            break
        except Exception as exc:  # still starting
            print(f"es-setup: waiting for elasticsearch ({type(exc).__name__})", file=sys.stderr)
            time.sleep(min(5, 1 + attempt))
    apply(es, prefix=prefix, env=env)
    print(f"es-setup: roles and users for prefix {prefix!r}: {', '.join(users(env))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
