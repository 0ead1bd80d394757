"""docker-compose.yml is validated by Docker Compose itself, and agrees with the settings classes."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

from services.index.config import IndexSettings
from services.ingest.config import IngestSettings
from services.publish.config import PublishSettings
from services.wordpress.config import WordPressSettings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose_config() -> dict:
    """The fully resolved file, as `docker compose config` prints it (interpolation, anchors, merges)."""
    out = subprocess.run(
        [str(ROOT / "scripts" / "compose.sh"), "config", "--format", "yaml"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return yaml.safe_load(out.stdout)


def test_compose_config_quiet_passes() -> None:
    out = subprocess.run(
        [str(ROOT / "scripts" / "compose.sh"), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-3000:]


def test_compose_rejects_a_broken_file(tmp_path: Path) -> None:
    """The validator is real: a service with an unknown key is refused."""
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  web:\n    image: nginx:1.27.3\n    not_a_key: 1\n")
    out = subprocess.run(
        [str(ROOT / "scripts" / "compose.sh"), "-f", str(broken), "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert out.returncode != 0


def test_every_service_has_a_healthcheck_and_healthy_dependencies(compose_config: dict) -> None:
    services = compose_config["services"]
    for name, svc in services.items():
        if svc.get("restart") == "no":  # one-shot jobs (bootstrap, es-setup): their dependants wait for their exit
            continue
        assert "healthcheck" in svc, f"{name} has no healthcheck"
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert cond["condition"] in {"service_healthy", "service_completed_successfully"}, (name, dep)


def test_every_image_is_pinned(compose_config: dict) -> None:
    for name, svc in compose_config["services"].items():
        image = svc.get("image", "")
        assert image, f"{name} has no image"
        tag = image.rsplit(":", 1)[-1] if ":" in image.split("/")[-1] else ""
        assert tag and tag != "latest" and re.search(r"\d+\.\d+", tag), f"{name}: {image} is not pinned"
    dockerfiles = [ROOT / "Dockerfile", ROOT / "deploy" / "elasticsearch" / "Dockerfile"]
    for dockerfile in dockerfiles:
        for line in dockerfile.read_text().splitlines():
            if line.startswith("FROM "):
                image = line.split()[1]
                assert "${" in image or re.search(r":[\w.-]*\d+\.\d+", image), line


def test_kabar_env_matches_settings_classes(compose_config: dict) -> None:
    """Every KABAR_* variable a service gets is a field of the settings it reads (no silent typos)."""
    # Worker processes read the index settings, and the WordPress bridge's in its periodic pull task.
    workers = set(IndexSettings.model_fields) | set(WordPressSettings.model_fields)
    fields = {
        "ingest": set(IngestSettings.model_fields),
        "publish": set(PublishSettings.model_fields),
        **dict.fromkeys(("worker", "worker-related", "worker-notify", "worker-comments", "beat"), workers),
        "bootstrap": set(IndexSettings.model_fields),
    }
    for name, known in fields.items():
        env = compose_config["services"][name].get("environment") or {}
        for key in env:
            if key.startswith("KABAR_"):
                assert key.removeprefix("KABAR_").lower() in known, f"{name}: {key} is not a setting"


def test_elasticsearch_security_is_on_and_services_authenticate(compose_config: dict) -> None:
    es_env = compose_config["services"]["elasticsearch"]["environment"]
    assert es_env["xpack.security.enabled"] == "true"
    assert es_env["action.destructive_requires_name"] == "true"
    for name in ("publish", "worker", "worker-related", "worker-notify", "bootstrap"):
        env = compose_config["services"][name]["environment"]
        assert env["KABAR_ES_USERNAME"] and env["KABAR_ES_PASSWORD"]
    # Ingest never talks to Elasticsearch, so it has no credentials for it.
    assert not {"KABAR_ES_USERNAME", "KABAR_ES_PASSWORD"} & set(compose_config["services"]["ingest"]["environment"])


def test_no_secrets_committed() -> None:
    assert not (ROOT / ".env").exists() or ".env" in (ROOT / ".gitignore").read_text()
    for line in (ROOT / ".env.example").read_text().splitlines():
        if "PASS" in line and "=" in line:
            assert "CHANGE-ME" in line


# --- Least privilege -------------------------------------------------------------------------------------
# The composed file with a distinct, recognisable value for every secret of .env.example, so a secret that
# leaks anywhere (a command line, the wrong service) can be found by value.


def _secret_names() -> list[str]:
    names = []
    for line in (ROOT / ".env.example").read_text().splitlines():
        name = line.split("=", 1)[0].strip()
        if "=" in line and not line.startswith("#") and ("PASS" in name or "SECRET" in name):
            names.append(name)
    return names


SECRET_NAMES = _secret_names()
SECRETS = {name: f"s3cret-{name.lower().replace('_', '-')}-x9" for name in SECRET_NAMES}
# The one-shot job that creates Elasticsearch's users, and Elasticsearch itself: nobody else gets `elastic`.
SUPERUSER_SERVICES = {"elasticsearch", "es-setup"}
# Root filesystems that must stay writable, and why.
WRITABLE_ROOT = {"elasticsearch": "the image writes its keystore and config files at start"}


@pytest.fixture(scope="module")
def secret_config() -> dict:
    """`docker compose config --format json` with SECRETS as the environment's values (they win over .env)."""
    env = {**os.environ, **SECRETS}
    out = subprocess.run(
        [str(ROOT / "scripts" / "compose.sh"), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env=env,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    config: dict = json.loads(out.stdout)
    return config


def _argv_strings(svc: dict) -> list[str]:
    """Everything that becomes a process's command line: command, entrypoint and health check."""
    parts: list[str] = []
    for key in ("command", "entrypoint"):
        value = svc.get(key) or []
        parts.extend([value] if isinstance(value, str) else value)
    test = (svc.get("healthcheck") or {}).get("test") or []
    parts.extend([test] if isinstance(test, str) else test)
    return [str(p) for p in parts]


def test_the_secrets_are_the_ones_the_file_asks_for() -> None:
    """The fixture covers every password of the stack (a new secret added to .env.example is covered too)."""
    assert {
        "ELASTIC_PASSWORD",
        "ES_PUBLISH_PASSWORD",
        "ES_WORKER_PASSWORD",
        "REDIS_INGEST_PASSWORD",
        "REDIS_WORKER_PASSWORD",
        "REDIS_PUBLISH_PASSWORD",
        "RABBITMQ_DEFAULT_PASS",
        "FLOWER_PASSWORD",
        "COMMENT_HASH_SECRET",
        "COMMENT_FORM_SECRET",
        "MODERATION_SESSION_SECRET",
    } <= set(SECRET_NAMES)


# Who gets each comment secret: the services that hash readers' identities, sign forms, or sign sessions.
COMMENT_SECRET_HOLDERS = {
    "COMMENT_HASH_SECRET": {"publish", "ingest"},
    "COMMENT_FORM_SECRET": {"publish"},
    "MODERATION_SESSION_SECRET": {"ingest"},
}


def test_comment_secrets_reach_only_the_services_that_use_them(secret_config: dict) -> None:
    for secret, holders in COMMENT_SECRET_HOLDERS.items():
        having = {
            name
            for name, svc in secret_config["services"].items()
            if any(SECRETS[secret] in str(v) for v in (svc.get("environment") or {}).values())
        }
        assert having == holders, secret


def test_no_service_uses_the_elasticsearch_superuser(secret_config: dict) -> None:
    services = secret_config["services"]
    for name, svc in services.items():
        env = svc.get("environment") or {}
        assert env.get("KABAR_ES_USERNAME") != "elastic", f"{name} uses the elastic superuser"
        if name not in SUPERUSER_SERVICES:
            leaked = [k for k, v in env.items() if SECRETS["ELASTIC_PASSWORD"] in str(v)]
            assert not leaked, f"{name} gets the elastic password in {leaked}"
    assert services["publish"]["environment"]["KABAR_ES_USERNAME"] == "kabar_publish"
    for name in ("worker", "worker-related", "worker-notify", "bootstrap"):
        assert services[name]["environment"]["KABAR_ES_USERNAME"] == "kabar_worker"


def test_elasticsearch_roles_give_publish_read_only_access_to_the_read_aliases(secret_config: dict) -> None:
    """The roles es-setup creates: publish reads the read aliases; workers write their prefix; no admin."""
    spec = importlib.util.spec_from_file_location("setup_security", ROOT / "deploy/elasticsearch/setup_security.py")
    assert spec and spec.loader
    setup_security = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(setup_security)
    prefix = secret_config["services"]["publish"]["environment"]["KABAR_PREFIX"]
    roles = setup_security.roles(prefix)
    users = setup_security.users({name: SECRETS.get(name, "x") for name in SECRET_NAMES})
    # Every Kabar service's Elasticsearch user is one es-setup makes, with the password compose gives it.
    for name, svc in secret_config["services"].items():
        env = svc.get("environment") or {}
        if "KABAR_ES_USERNAME" in env:
            user = users[env["KABAR_ES_USERNAME"]]
            assert user["password"] == env["KABAR_ES_PASSWORD"], name
            assert user["roles"] == [env["KABAR_ES_USERNAME"]]
    publish = roles["kabar_publish"]
    assert publish["cluster"] == ["monitor"]
    assert publish["indices"] == [
        {"names": [f"{prefix}-articles", f"{prefix}-related"], "privileges": ["read", "view_index_metadata"]}
    ]
    for role in roles.values():
        assert not {"all", "manage", "manage_security", "manage_own_api_key"} & set(role["cluster"])
        for grant in role["indices"]:
            assert all(n.startswith(f"{prefix}-") for n in grant["names"]), grant
            assert "all" not in grant["privileges"]


def test_every_redis_client_authenticates_as_its_own_user(secret_config: dict) -> None:
    services = secret_config["services"]
    start = (ROOT / "deploy" / "redis" / "start.sh").read_text()
    assert "user default off" in start
    assert "redis-server" in " ".join(_argv_strings(services["redis"])) or "start.sh" in str(
        services["redis"]["entrypoint"]
    )
    users = {}
    for name, svc in services.items():
        url = (svc.get("environment") or {}).get("KABAR_REDIS_URL")
        if url is None:
            continue
        parsed = urlparse(url)
        assert parsed.username and parsed.password, f"{name} connects to Redis without a user and password"
        assert parsed.password in SECRETS.values(), f"{name}: the Redis password is not from the environment"
        assert re.search(rf"printf 'user {parsed.username} on #%s", start), f"no ACL user {parsed.username}"
        users.setdefault(parsed.username, set()).add(name)
    assert users == {
        "ingest": {"ingest"},
        "publish": {"publish"},
        "worker": {"worker", "worker-related", "worker-notify", "worker-comments", "beat", "bootstrap"},
    }
    # The passwords Redis checks are the ones the clients use.
    redis_env = services["redis"]["environment"]
    for user in users:
        assert redis_env[f"REDIS_{user.upper()}_PASSWORD"] == SECRETS[f"REDIS_{user.upper()}_PASSWORD"]


def test_no_secret_on_a_command_line(secret_config: dict) -> None:
    """Neither a secret's value nor a shell expansion of a variable that holds one is in any argv."""
    for name, svc in secret_config["services"].items():
        env = svc.get("environment") or {}
        secret_vars = {k for k, v in env.items() if any(s in str(v) for s in SECRETS.values())}
        for arg in _argv_strings(svc):
            for secret_name, value in SECRETS.items():
                assert value not in arg, f"{name}: {secret_name} on a command line: {arg!r}"
            for var in secret_vars | set(SECRET_NAMES):
                assert not re.search(rf"\$\$?\{{?{var}\b", arg), f"{name}: ${var} expanded on a command line"
    # The scripts those command lines run expand secrets only into builtins (printf) or a child's environment.
    for script in sorted((ROOT / "deploy").rglob("*.sh")):
        for number, line in enumerate(script.read_text().splitlines(), 1):
            code = line.strip()
            if code.startswith("#") or not re.search(r"\$\{?(\w*PASSWORD\w*)", code):
                continue
            allowed = (
                code.startswith(("printf ", 'REDISCLI_AUTH="$', "unset ", "for ", "eval "))
                or code.startswith('"$(sha "$')
                or re.match(r'^printf .*"\$\(sha "\$\w+"\)"', code) is not None
            )
            assert allowed, f"{script.relative_to(ROOT)}:{number} may put a password on a command line: {code}"


def test_flower_requires_authentication_from_the_environment(secret_config: dict) -> None:
    flower = secret_config["services"]["flower"]
    env = flower["environment"]
    user, _, password = env["FLOWER_BASIC_AUTH"].partition(":")
    assert user and password == SECRETS["FLOWER_PASSWORD"]
    assert env["CELERY_BROKER_URL"].startswith("amqp://")
    assert not any("--broker" in arg or "amqp://" in arg for arg in _argv_strings(flower))


def test_every_container_runs_as_a_non_root_user_on_a_read_only_root(secret_config: dict) -> None:
    for name, svc in secret_config["services"].items():
        user = str(svc.get("user") or "")
        assert user, f"{name} has no user: (it would run as the image's, often root)"
        uid = user.split(":", 1)[0]
        assert uid not in {"0", "root"}, f"{name} runs as root"
        assert "no-new-privileges:true" in (svc.get("security_opt") or []), name
        if name in WRITABLE_ROOT:
            continue
        assert svc.get("read_only") is True, f"{name}: root filesystem is writable"
        assert any(str(t).split(":")[0] == "/tmp" for t in svc.get("tmpfs") or []), f"{name}: no tmpfs /tmp"
    # Kabar's own image and the Elasticsearch image end as non-root users too.
    for dockerfile in (ROOT / "Dockerfile", ROOT / "deploy" / "elasticsearch" / "Dockerfile"):
        users = [line.split()[1] for line in dockerfile.read_text().splitlines() if line.startswith("USER ")]
        assert users and users[-1].split(":")[0] not in {"0", "root"}, dockerfile


def test_redis_acl_users_work_and_stay_in_their_lane(tmp_path: Path) -> None:
    """deploy/redis/start.sh on a real Redis (Debian's, loopback, a free port): each service's user can do
    what Kabar's own code does with it, and nothing outside its prefix, channel or role."""
    from redis import Redis
    from redis.exceptions import AuthenticationError, NoPermissionError, ResponseError

    from services.ingest.auth import authenticate, create_key
    from shared.purge import publish_purge
    from shared.state import StateStore
    from tests.stack import free_port, wait_until

    port, prefix = free_port(), "acltest"
    passwords = {user: f"pw-{user}-{os.getpid()}" for user in ("ingest", "worker", "publish")}
    acl_file = tmp_path / "users.acl"
    env = {
        **os.environ,
        "KABAR_PREFIX": prefix,
        "KABAR_REDIS_ACL_FILE": str(acl_file),
        "REDIS_PORT": str(port),
        "REDIS_DATA_DIR": str(tmp_path),
        **{f"REDIS_{user.upper()}_PASSWORD": pw for user, pw in passwords.items()},
    }
    start = ROOT / "deploy" / "redis" / "start.sh"
    args = ["--port", str(port), "--bind", "127.0.0.1", "--appendonly", "no", "--save", ""]
    server = subprocess.Popen(["sh", str(start), *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    clients: list[Redis] = []

    def connect(user: str | None) -> Redis:
        auth = f"{user}:{passwords[user]}@" if user else ""
        client = Redis.from_url(f"redis://{auth}127.0.0.1:{port}/0", socket_timeout=5)
        clients.append(client)
        return client

    try:
        wait_until(lambda: acl_file.exists() and connect("publish").ping(), timeout=20, what="redis with ACLs")
        assert not any(pw in acl_file.read_text() for pw in passwords.values()), "plaintext password in the ACL"
        health = subprocess.run(["sh", str(ROOT / "deploy" / "redis" / "healthcheck.sh")], env=env, check=False)
        assert health.returncode == 0
        # Nobody gets in without a password.
        with pytest.raises((AuthenticationError, ResponseError)):
            connect(None).get(f"{prefix}:x")

        ingest = connect("ingest")
        key = create_key(redis=ingest, prefix=prefix, newsroom="acl-room")
        assert authenticate(redis=ingest, prefix=prefix, authorization=None, api_key=key).id == "acl-room"
        store = StateStore(ingest, prefix)
        revision = store.reserve_revision("uid-1", 1)
        assert store.commit("uid-1", revision, status="queued")
        for forbidden in (
            lambda: ingest.get("other:x"),
            lambda: ingest.publish(f"{prefix}:purge", "x"),
            lambda: ingest.keys("*"),
            lambda: ingest.flushall(),
            lambda: ingest.config_get("*"),
        ):
            with pytest.raises(NoPermissionError):
                forbidden()

        worker = connect("worker")
        assert StateStore(worker, prefix).mark_applied("uid-1", revision)
        listener = connect("publish").pubsub()
        listener.subscribe(f"{prefix}:purge")
        wait_until(lambda: listener.get_message(timeout=0.2), timeout=5, what="subscribed")
        assert publish_purge(worker, prefix, ["uid-1"]) == 1
        assert sorted(worker.scan_iter(match=f"{prefix}:*")) == sorted(ingest.scan_iter(match=f"{prefix}:*"))
        with pytest.raises(NoPermissionError):
            worker.set("other:x", "1")

        publish = connect("publish")
        # The comment form's single-use marks: SET NX with an expiry on those keys, and nothing else.
        assert publish.set(f"{prefix}:comments:pow:sig", b"1", nx=True, ex=60)
        assert not publish.set(f"{prefix}:comments:pow:sig", b"1", nx=True, ex=60)
        assert publish.set(f"{prefix}:comments:soal:nonce", b"1", nx=True, ex=60)
        for forbidden in (
            lambda: publish.get(f"{prefix}:x"),
            lambda: publish.get(f"{prefix}:comments:pow:sig"),
            lambda: publish.set(f"{prefix}:apikey:x", b"1"),
            lambda: publish.delete(f"{prefix}:comments:pow:sig"),
        ):
            with pytest.raises(NoPermissionError):
                forbidden()
        elsewhere = publish.pubsub()
        with pytest.raises(NoPermissionError):  # the refusal is the reply to SUBSCRIBE
            elsewhere.subscribe("other:purge")
            elsewhere.get_message(timeout=2)
        elsewhere.close()
        listener.close()
    finally:
        for client in clients:
            client.close()
        server.terminate()
        server.wait(timeout=10)
