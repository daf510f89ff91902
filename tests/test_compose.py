"""The compose file and Dockerfile: valid, and every command they run is a real, tested mediamon command."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
import yaml
from prefect.utilities.dockerutils import get_prefect_image_name

from mediamon.cli import build_parser
from tests.conftest import REPO_ROOT
from tests.helpers.commands import SCHEDULER_ARGV, SERVE_ARGV, WORKER_ARGV
from tests.helpers.prefect_server import BIN, SERVER_ARGV

COMPOSE = REPO_ROOT / "docker-compose.yml"
SCALE = REPO_ROOT / "docker-compose.scale.yml"


@pytest.mark.e2e
def test_compose_config_is_valid():
    if shutil.which("docker-compose") is None:
        if os.environ.get("CI"):
            pytest.fail("docker-compose is missing in CI: `make test` installs it (apt-get install docker-compose)")
        pytest.skip("docker-compose not installed: apt-get install docker-compose (make test does it as root)")
    for files in ([COMPOSE], [COMPOSE, SCALE]):
        arguments = [part for path in files for part in ("-f", str(path))]
        done = subprocess.run(["docker-compose", *arguments, "config", "-q"], capture_output=True, text=True)
        assert done.returncode == 0, (files, done.stderr)


def compose_services() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]


@pytest.mark.e2e
def test_compose_commands_are_real_and_run_by_tests():
    services = compose_services()
    dockerfile = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["mediamon"]' in dockerfile
    built = {name: service["command"] for name, service in services.items() if "build" in service}
    for command in built.values():
        build_parser().parse_args(command)  # exits (fails the test) on an unknown command or option
    assert built == {"serve": SERVE_ARGV, "ingest": ["ingest", "seeds"]}  # test_serve; test_cli's README test
    server = services["server"]
    assert server["image"] == get_prefect_image_name()  # the Prefect and Python versions installed here
    assert server["command"][: len(SERVER_ARGV)] == SERVER_ARGV  # what test_serve's prefect_server starts
    usage = subprocess.run([str(BIN / SERVER_ARGV[0]), *SERVER_ARGV[1:], "--help"], capture_output=True, text=True)
    assert usage.returncode == 0 and "--host" in usage.stdout and "--port" in usage.stdout


@pytest.mark.pure
def test_compose_services_wait_for_healthy_dependencies():
    services = compose_services()
    postgres, server, serve = services["postgres"], services["server"], services["serve"]
    assert re.fullmatch(r"postgres:\d+\.\d+-alpine", postgres["image"])  # pinned
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"]) and "/api/health" in str(server["healthcheck"])
    assert server["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert serve["depends_on"] == {"server": {"condition": "service_healthy"}}
    assert server["environment"]["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert "@postgres:5432/" in server["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"]
    assert serve["environment"]["PREFECT_API_URL"] == "http://server:4200/api"
    assert "warehouse:/data" in serve["volumes"] and services["ingest"]["profiles"] == ["seeds"]  # not on `up`


@pytest.mark.pure
def test_dockerfile_copies_what_exists():
    for line in (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.startswith("COPY "):
            for source in line.split()[1:-1]:
                assert (REPO_ROOT / source).exists(), source


@pytest.mark.pure
def test_scale_override_runs_what_test_scale_out_runs():
    from config.settings import load_settings

    services = yaml.safe_load(SCALE.read_text(encoding="utf-8"))["services"]
    scheduler, worker, serve = services["dask-scheduler"], services["dask-worker"], services["serve"]
    assert scheduler["entrypoint"] + scheduler["command"][:1] == SCHEDULER_ARGV
    assert worker["entrypoint"] + worker["command"][:1] == WORKER_ARGV[:2]
    assert worker["command"][1] == serve["environment"]["MEDIAMON_DASK_ADDRESS"] == "tcp://dask-scheduler:8786"
    assert set(WORKER_ARGV[2:]) <= set(worker["command"])
    assert worker["environment"]["PREFECT_API_URL"] == compose_services()["serve"]["environment"]["PREFECT_API_URL"]
    settings = load_settings(serve["environment"])  # the settings the scaled-out serve runs with are valid
    assert (settings.task_runner, str(settings.db)) == ("dask", "ducklake:sqlite:/data/lake.sqlite")


@pytest.mark.pure
def test_docs_compose_commands_name_real_files_and_services():
    """docs/deployment.md's compose lines (not run here: they build images) use these files and services."""
    page = (REPO_ROOT / "docs" / "deployment.md").read_text(encoding="utf-8")
    lines = [line.strip().split("  #")[0] for line in page.splitlines() if line.strip().startswith("docker compose ")]
    assert len(lines) >= 4, lines
    services = {**compose_services(), **yaml.safe_load(SCALE.read_text(encoding="utf-8"))["services"]}
    for line in lines:
        words = line.split()
        for i, word in enumerate(words):
            if word == "-f":
                assert (REPO_ROOT / words[i + 1]).exists(), line
            if word.startswith("dask-worker=") or (i > 0 and words[i - 1] in ("restart", "--rm")):
                assert word.split("=")[0] in services, line
    assert "docker compose --profile seeds run --rm ingest" in lines
    assert 'docker compose run --rm serve sql "select count(*) from articles"' in lines
    build_parser().parse_args(["sql", "select count(*) from articles"])
