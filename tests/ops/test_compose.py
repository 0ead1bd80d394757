"""docker-compose.yml is validated by Docker Compose itself, and agrees with the settings classes."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from services.index.config import IndexSettings
from services.ingest.config import IngestSettings
from services.publish.config import PublishSettings

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
        if name == "bootstrap":
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
                assert "${" in image or re.search(r":[\w.-]*\d+\.\d+", image) or ":bookworm" in image, line


def test_kabar_env_matches_settings_classes(compose_config: dict) -> None:
    """Every KABAR_* variable a service gets is a field of the settings it reads (no silent typos)."""
    fields = {
        "ingest": set(IngestSettings.model_fields),
        "publish": set(PublishSettings.model_fields),
        "worker": set(IndexSettings.model_fields),
        "worker-related": set(IndexSettings.model_fields),
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
    for name in ("ingest", "publish", "worker"):
        env = compose_config["services"][name]["environment"]
        assert env["KABAR_ES_USERNAME"] and env["KABAR_ES_PASSWORD"]


def test_no_secrets_committed() -> None:
    assert not (ROOT / ".env").exists() or ".env" in (ROOT / ".gitignore").read_text()
    for line in (ROOT / ".env.example").read_text().splitlines():
        if "PASS" in line and "=" in line:
            assert "CHANGE-ME" in line
