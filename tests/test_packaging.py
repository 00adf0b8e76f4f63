"""Packaging: one set of exact pins, and requirements.txt holds what synth imports."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.conftest import OPTIONAL_WHEN_INSTALLED

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENT_FILES = [
    "requirements.txt",
    "lambda_reward/runtime/requirements.txt",
    "stacks/rft_job/runtime/requirements.txt",
]
EXTRAS = ["cli", "test"]
_PIN = re.compile(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==([^\s;#]+)")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins_of(lines: list[str], where: str) -> dict[str, str]:
    found = {}
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = _PIN.match(line)
        assert match, f"{where}: not an exact pin: {line}"
        found[normalized(match.group(1))] = match.group(2)
    return found


def pins(path: Path) -> dict[str, str]:
    return pins_of(path.read_text().splitlines(), str(path.relative_to(ROOT)))


def extra_pins(extra: str) -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return pins_of(project["optional-dependencies"][extra], f"pyproject.toml extra {extra!r}")


def test_every_package_has_one_exact_pin_everywhere() -> None:
    seen: dict[str, tuple[str, str]] = {}
    sources = {name: pins(ROOT / name) for name in REQUIREMENT_FILES}
    sources |= {f"pyproject.toml [{extra}]": extra_pins(extra) for extra in EXTRAS}
    for name, found in sources.items():
        for package, version in found.items():
            if package in seen:
                assert seen[package][0] == version, (
                    f"{package}: {seen[package][1]} pins {seen[package][0]}, {name} {version}"
                )
            seen[package] = (version, name)


def requirement_closure(path: Path) -> set[str]:
    """The distributions a requirements file installs: its pins and everything they require."""
    pending, closure = list(pins(path)), set()
    while pending:
        name = pending.pop()
        if name in closure:
            continue
        closure.add(name)
        for line in metadata.requires(name) or []:
            requirement = Requirement(line)
            # Extras nobody asked for and markers for other Pythons install nothing here.
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            pending.append(normalized(requirement.name))
    return closure


def test_requirements_txt_holds_everything_synth_imports() -> None:
    """Import the app as `cdk synth` does and map every loaded module to the distribution it came from."""
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"  # what the interpreter's start-up (.pth hooks) loaded is not synth's
        "import app, tempfile\n"
        "app.build_app(outdir=tempfile.mkdtemp(), nag=True)\n"  # building the stacks imports what config needs
        "import json\n"
        "from importlib import metadata\n"
        "owners = metadata.packages_distributions()\n"
        "top = {name.split('.')[0] for name in set(sys.modules) - before}\n"
        "print(json.dumps(sorted({d for name in top for d in owners.get(name, [])})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    imported = {normalized(name) for name in json.loads(result.stdout.strip().splitlines()[-1])}
    project = {"bedrock-rft-cdk"}
    missing = imported - requirement_closure(ROOT / "requirements.txt") - project - OPTIONAL_WHEN_INSTALLED
    assert missing == set(), f"synth imports distributions requirements.txt does not install: {sorted(missing)}"


def installed_pins(extra: str | None) -> dict[str, str]:
    found = {}
    for line in metadata.distribution("bedrock-rft-cdk").requires or []:
        requirement = Requirement(line)
        in_extra = requirement.marker is not None and requirement.marker.evaluate({"extra": extra or ""})
        if (requirement.marker is None) if extra is None else in_extra:
            (specifier,) = requirement.specifier
            found[normalized(requirement.name)] = specifier.version
    return found


@pytest.mark.parametrize("extra", [None, *EXTRAS])
def test_the_installed_project_carries_the_pins_of_this_checkout(extra: str | None) -> None:
    expected = pins(ROOT / "requirements.txt") if extra is None else extra_pins(extra)
    assert installed_pins(extra) == expected, "reinstall the project (make install) after editing the pins"


def test_the_install_makes_the_console_command() -> None:
    assert metadata.distribution("bedrock-rft-cdk").entry_points.select(group="console_scripts", name="rftctl")
