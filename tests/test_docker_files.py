"""What can be checked of the install and Docker files without installing or building: the
lock files pin pyproject.toml's dependencies with hashes, the Dockerfile installs from the lock
and fails early without BuildKit or a network, the scripts parse, and scripts/docker-smoke
says what is missing before it touches an engine."""

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def lock(name: str) -> dict[str, tuple[Version, list[str]]]:
    """A pip-compile lock file as {package: (pinned version, its hashes)}."""
    text = re.sub(r"\s*\\\n\s*", " ", (ROOT / name).read_text())
    entries = {}
    for line in text.splitlines():
        if line and not line.startswith(("#", " ")):
            requirement, *options = line.split()
            package, version = requirement.split("==")
            hashes = [o.removeprefix("--hash=sha256:") for o in options if o.startswith("--hash")]
            entries[canonicalize_name(package)] = (Version(version), hashes)
    return entries


@pytest.mark.parametrize(
    ("name", "requirements"),
    [
        ("requirements.lock", PROJECT["dependencies"]),
        (
            "requirements-dev.lock",
            PROJECT["dependencies"] + PROJECT["optional-dependencies"]["dev"],
        ),
    ],
)
def test_a_lock_pins_every_dependency_of_pyproject_with_hashes(name, requirements):
    pins = lock(name)
    for requirement in map(Requirement, requirements):
        package = canonicalize_name(requirement.name)
        assert package in pins, f"{package} is not in {name}: run bash scripts/lock"
        version = pins[package][0]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{name} pins {package}=={version}, outside pyproject's {requirement.specifier}: "
            "run bash scripts/lock"
        )
    for package, (_, hashes) in pins.items():
        assert hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), package
    assert "bash scripts/lock" in (ROOT / name).read_text().split("\n\n")[0]


def test_the_locks_agree_and_pin_the_cpu_build_of_torch():
    app, dev = lock("requirements.lock"), lock("requirements-dev.lock")
    assert {p: v for p, (v, _) in app.items()} == {p: dev[p][0] for p in app}
    for pins in (app, dev):
        assert pins["torch"][0].local == "cpu"
        assert not [p for p in pins if p.startswith("nvidia-") or p == "triton"]


def instructions(dockerfile: str) -> list[list[str]]:
    """The Dockerfile's instructions, continuation lines joined, comments left out, by stage."""
    lines = [line for line in dockerfile.splitlines() if not line.lstrip().startswith("#")]
    stages: list[list[str]] = [[]]
    for instruction in re.sub(r"\\\n", " ", "\n".join(lines)).splitlines():
        if instruction.startswith("FROM "):
            stages.append([])
        if instruction.strip():
            stages[-1].append(" ".join(instruction.split()))
    return stages


DOCKERFILE = instructions((ROOT / "Dockerfile").read_text())


def test_the_image_installs_exactly_the_app_lock():
    build = next(s for s in DOCKERFILE if s[0].endswith(" AS build"))
    assert "COPY requirements.lock /tmp/build/" in build
    installs = [i for i in build if "pip install" in i]
    assert len(installs) == 1
    assert "pip install --require-hashes" in installs[0]
    assert installs[0].count(" -r ") == 1 and "-r /tmp/build/requirements.lock" in installs[0]
    allowed = (ROOT / ".dockerignore").read_text().splitlines()
    assert "!requirements.lock" in allowed


def test_private_indexes_are_build_arguments_of_the_build_stage_only():
    build = next(s for s in DOCKERFILE if s[0].endswith(" AS build"))
    final = DOCKERFILE[-1]
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        # Declared without a value: unset unless given, so pip then uses PyPI.
        assert f"ARG {name}" in build
        assert not [i for i in final if name in i]
    assert any(i.startswith("ARG TORCH_INDEX_URL=https://") for i in build)


def test_the_first_step_needs_buildkit_and_stops_without_a_network():
    base = DOCKERFILE[1]
    first_run = next(i for i in base if i.startswith("RUN "))
    # The old builder refuses a RUN --mount with "the --mount option requires BuildKit".
    assert first_run.startswith("RUN --mount=")
    # apt-get update alone exits 0 without a network; --error-on=any makes it fail.
    assert "apt-get update --error-on=any" in first_run
    assert "it has no network" in first_run and "--network host" in first_run
    assert first_run.index("apt-get update") < first_run.index("apt-get install")


SCRIPTS = sorted(p for p in (ROOT / "scripts").iterdir() if p.is_file())


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_script_parses(script):
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def smoke(docker: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "docker-smoke")],
        env={**os.environ, "DOCKER": docker},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_docker_smoke_names_a_missing_client():
    result = smoke("no-such-docker-client")
    assert result.returncode == 1
    assert "no Docker client 'no-such-docker-client'" in result.stderr


def test_docker_smoke_names_a_missing_buildx_before_asking_the_engine():
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client here")
    if subprocess.run([docker, "buildx", "version"], capture_output=True).returncode == 0:
        pytest.skip("this docker client has buildx")
    version = subprocess.run(
        [docker, "version", "--format", "{{.Client.Version}}"], capture_output=True, text=True
    ).stdout.strip()
    if int(version.split(".")[0]) < 23:
        pytest.skip(f"Docker {version} has BuildKit built in")
    result = smoke(docker)
    assert result.returncode == 1
    assert "the buildx plugin, which is missing" in result.stderr
    assert "no Docker engine" not in result.stderr
