"""Writes docs/settings.md: every KABAR_* knob, from the settings classes and the scripts' own list.

`python -m scripts.settings_reference` rewrites the file; tests/unit/test_settings_reference.py fails when
the file is stale or when any KABAR_* name used in the repository is missing from it.
"""

from __future__ import annotations

import ast
import inspect
import sys
import textwrap
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings

from services.index.config import IndexSettings
from services.ingest.config import IngestSettings
from services.ops import OpsSettings
from services.publish.config import PublishSettings
from services.wordpress.config import WordPressSettings
from shared.settings import KabarSettings

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "settings.md"

SERVICES: dict[str, type[BaseSettings]] = {
    "all": KabarSettings,
    "ingest": IngestSettings,
    "index workers": IndexSettings,
    "publish": PublishSettings,
    "kabar CLI (ops)": OpsSettings,
    "WordPress bridge": WordPressSettings,
}

# Knobs read by shell scripts, the demo, the tests and the benches (not by a settings class).
SCRIPT_KNOBS: dict[str, tuple[str, str, str]] = {
    "KABAR_LOCAL_DIR": ("scripts/services.sh", "<repo>/.local", "where local services keep data, logs and pid files"),
    "KABAR_ES_VERSION": ("scripts/services.sh", "deploy/elasticsearch/Dockerfile", "override the one ES version"),
    "KABAR_ES_PORT": ("scripts/services.sh", "9200", "Elasticsearch HTTP port on loopback"),
    "KABAR_ES_HEAP": ("scripts/services.sh", "1g", "Elasticsearch JVM heap"),
    "KABAR_ES_TRANSPORT_PORT": ("scripts/services.sh", "KABAR_ES_PORT + 100", "Elasticsearch transport port (pinned)"),
    "KABAR_RABBIT_PORT": ("scripts/services.sh", "5672", "RabbitMQ AMQP port on loopback"),
    "KABAR_RABBIT_DIST_PORT": ("scripts/services.sh", "25672", "RabbitMQ's Erlang distribution port (loopback)"),
    "KABAR_RABBIT_NODE": ("scripts/services.sh", "kabar@localhost", "RabbitMQ node name"),
    "KABAR_EPMD_PORT": ("scripts/services.sh", "4370", "a private epmd port, never the system's 4369"),
    "KABAR_REDIS_PORT": ("scripts/services.sh", "6379", "Redis port on loopback"),
    "KABAR_EDGE": ("scripts/services.sh", "on", "`off`: `up` starts no edge cache; readers use publish"),
    "KABAR_EDGE_PORT": ("scripts/services.sh", "6081", "the edge cache's (Varnish's) reader port on loopback"),
    "KABAR_EDGE_ADMIN_PORT": ("scripts/services.sh", "6082", "Varnish's admin port (varnishadm) on loopback"),
    "KABAR_EDGE_MEMORY": ("scripts/services.sh", "256m", "the edge cache's storage (malloc)"),
    "KABAR_POSTGRES": ("scripts/services.sh", "on", "`off`: `up` starts no PostgreSQL (reader comments need it)"),
    "KABAR_PG_PORT": ("scripts/services.sh", "5432", "PostgreSQL's port on loopback"),
    "KABAR_WORDPRESS": (
        "scripts/setup.sh, scripts/services.sh",
        "on",
        "`off`: no MariaDB/WordPress (bridge tests skip)",
    ),
    "KABAR_MARIADB_PORT": ("scripts/services.sh", "3307", "the test WordPress's MariaDB port on loopback"),
    "KABAR_WORDPRESS_PORT": ("scripts/services.sh", "8090", "the test WordPress (PHP's built-in server) on loopback"),
    "KABAR_WORDPRESS_WORKERS": ("scripts/services.sh", "4", "PHP built-in server workers for the test WordPress"),
    "KABAR_WORDPRESS_URL": ("harness/wordpress.py", "http://127.0.0.1:8090", "the WordPress tests and benches use"),
    "KABAR_WORDPRESS_USER": ("harness/wordpress.py", "admin", "its user with an application password"),
    "KABAR_WORDPRESS_APP_PASSWORD": ("harness/wordpress.py", "(.local/wordpress/app-password)", "that password"),
    "KABAR_WP_URL": ("scripts/services.sh", "(set by it)", "internal: handed to scripts/wordpress/install.php"),
    "KABAR_WP_ADMIN_PASSWORD": ("scripts/services.sh", "(set by it)", "internal: the admin's password, to install.php"),
    "KABAR_WP_NEW_APP_PASSWORD": ("scripts/services.sh", "(set by it)", "internal: asks install.php for a new one"),
    # Constants a WordPress site defines in wp-config.php for the Kabar Bridge plugin (not environment).
    "KABAR_INGEST_URL": ("deploy/wordpress/kabar-bridge.php", "(required)", "wp-config.php: Kabar's ingest API"),
    "KABAR_API_KEY": ("deploy/wordpress/kabar-bridge.php", "(required)", "wp-config.php: the newsroom's API key"),
    "KABAR_RETRY_SECONDS": ("deploy/wordpress/kabar-bridge.php", "30", "wp-config.php: first retry delay (doubles)"),
    "KABAR_SKIP_BROWSER": ("scripts/setup.sh", "0", "1: do not install Chromium (browser tests then fail)"),
    "KABAR_SKIP_VEGETA": ("scripts/setup.sh", "0", "1: do not build vegeta (open-loop benches use a Python driver)"),
    "KABAR_VEGETA_VERSION": ("scripts/setup.sh", "v12.13.0", "the vegeta release built from the Go proxy"),
    "KABAR_BENCH_DRIVER": ("bench/openloop.py", "(vegeta when built)", "`python`: the aiohttp open-loop driver"),
    "KABAR_EDGE_URL": ("bench/openloop_bench.py", "http://127.0.0.1:6081", "the edge the open-loop bench loads"),
    "KABAR_COMPOSE_VERSION": ("scripts/compose.sh", "v2.40.3", "Docker Compose built from the Go proxy"),
    "KABAR_REDIS_ACL_FILE": (
        "deploy/redis/start.sh",
        "$KABAR_REDIS_RUN_DIR/kabar-users.acl",
        "where the compose Redis writes ACLs",
    ),
    "KABAR_REDIS_RUN_DIR": (
        "deploy/redis/start.sh",
        "/tmp",  # noqa: S108 - a name in a table, inside the container (a tmpfs)
        "the compose Redis's own files: ACL users, and masterauth when replicated",
    ),
    "KABAR_REDIS_REPLICA_OF": (
        "deploy/redis/start.sh",
        "(unset: a primary)",
        "`host port`: start as that primary's replica (docker-compose.cluster.yml's redis-replica)",
    ),
    "KABAR_CLUSTER_ES_HEAP": ("scripts/cluster.sh", "512m", "JVM heap of each local cluster Elasticsearch node"),
    "KABAR_DEMO_INGEST_PORT": ("scripts/demo.py", "8001", "demo ingest port"),
    "KABAR_DEMO_PUBLISH_PORT": ("scripts/demo.py", "8002", "demo reader site port"),
    "KABAR_SHARED_DATA": ("shared/corpora.py", "../shared/data", "the corpora folder (tests, demo, benches)"),
    "KABAR_FAULTS_KEEP_STACK": ("tests/faults/conftest.py", "0", "1: leave the fault suite's private stack up"),
    "KABAR_CLUSTER_KEEP": ("tests/cluster/conftest.py", "0", "1: leave the local cluster up after the cluster tests"),
}


def _default(field: Any) -> str:
    if field.default_factory is not None:
        return "(computed)"
    value = field.default
    if value is None:
        return "unset"
    secret = getattr(value, "get_secret_value", None)
    return "(secret)" if secret else f"`{value}`"


def _comments(cls: type) -> dict[str, str]:
    """The `# why` comment lines written just above each field in its class: the field's meaning."""
    lines, _ = inspect.getsourcelines(cls)
    found = {}
    for node in ast.parse(textwrap.dedent("".join(lines))).body[0].body:  # type: ignore[attr-defined]
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            above, i = [], node.lineno - 2
            while i >= 0 and lines[i].strip().startswith("#"):
                above.insert(0, lines[i].strip().lstrip("#").strip())
                i -= 1
            if above:
                found[node.target.id] = " ".join(above)
    return found


def render() -> str:
    lines = [
        "# Settings reference",
        "",
        "Generated by `python -m scripts.settings_reference` from the settings classes (pydantic-settings,",
        "prefix `KABAR_`, also read from `.env`) and the scripts' own knobs; a test keeps it current.",
        "",
        "| variable | read by | default | type or meaning |",
        "|---|---|---|---|",
    ]
    seen: set[str] = set()
    for service, cls in SERVICES.items():
        meaning = _comments(cls)
        for name, field in cls.model_fields.items():
            env = f"KABAR_{name.upper()}"
            if env in seen:
                continue
            seen.add(env)
            kind = getattr(field.annotation, "__name__", str(field.annotation)).replace("pydantic.types.", "")
            text = field.description or meaning.get(name, "")
            about = f"{kind.replace('|', 'or')}{': ' + text.replace('|', '/') if text else ''}"
            lines.append(f"| `{env}` | {service} | {_default(field)} | {about} |")
    for env, (reader, default, meaning) in SCRIPT_KNOBS.items():
        lines.append(f"| `{env}` | {reader} | `{default}` | {meaning} |")
    return "\n".join(lines) + "\n"


def known() -> set[str]:
    names = {f"KABAR_{n.upper()}" for cls in SERVICES.values() for n in cls.model_fields}
    return names | set(SCRIPT_KNOBS)


def main() -> None:
    REFERENCE.parent.mkdir(exist_ok=True)
    REFERENCE.write_text(render())
    print(f"wrote {REFERENCE.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
