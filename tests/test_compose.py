"""The compose file and Dockerfile: valid, and every command they run is a real, tested mediamon command."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from mediamon.cli import build_parser
from tests.conftest import REPO_ROOT

COMPOSE = REPO_ROOT / "docker-compose.yml"


def test_compose_config_is_valid():
    if shutil.which("docker-compose") is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is missing in CI: `make test` installs it (apt-get install docker-compose)")
        pytest.skip("docker-compose not installed: apt-get install docker-compose (make test does it as root)")
    done = subprocess.run(["docker-compose", "-f", str(COMPOSE), "config", "-q"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_compose_commands_are_mediamon_commands():
    services = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]
    dockerfile = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["mediamon"]' in dockerfile
    built = [s for s in services.values() if "build" in s]
    assert built
    for service in built:
        args = build_parser().parse_args(service["command"])  # exits (fails the test) on an unknown command
        assert args.command == "ingest" and args.targets == ["seeds"]  # run by test_cli's README test


def test_dockerfile_copies_what_exists():
    for line in (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (REPO_ROOT / source).exists(), source
