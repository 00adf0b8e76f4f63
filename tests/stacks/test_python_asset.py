"""Lambda assets built for arm64 without Docker, from exactly the pinned versions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from stacks.python_asset import _PipLocalBundling, code_fingerprint, runtime_files

ROOT = Path(__file__).resolve().parents[2]


def pins(requirements: Path) -> dict[str, str]:
    found = {}
    for line in requirements.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([^\s;]+)", line.strip())
        if match:
            found[re.sub(r"[-_.]+", "_", match.group(1)).lower()] = match.group(3)
    return found


def installed_versions(asset: Path) -> dict[str, str]:
    versions = {}
    for dist_info in asset.glob("*.dist-info"):
        name, version = dist_info.name[: -len(".dist-info")].rsplit("-", 1)
        versions[re.sub(r"[-_.]+", "_", name).lower()] = version
    return versions


@pytest.mark.slow
def test_reward_asset_has_arm64_regex_powertools_and_only_runtime_code(tmp_path: Path) -> None:
    package = ROOT / "lambda_reward"
    assert _PipLocalBundling(package, package / "requirements.txt").try_bundle(str(tmp_path), None) is True
    assert list(tmp_path.glob("regex/_regex.cpython-313-aarch64-linux-gnu.so")), "regex must be the arm64 cp313 wheel"
    assert (tmp_path / "aws_lambda_powertools" / "logging" / "logger.py").is_file()
    assert (tmp_path / "lambda_reward" / "handler.py").is_file()
    assert not (tmp_path / "lambda_reward" / "infrastructure.py").exists()
    versions = installed_versions(tmp_path)
    for name, version in pins(package / "requirements.txt").items():
        assert versions[name] == version, name


@pytest.mark.slow
def test_job_asset_has_arm64_openai_sdk_and_pinned_boto3(tmp_path: Path) -> None:
    package, requirements = ROOT / "rft_job", ROOT / "rft_job" / "runtime" / "requirements.txt"
    _PipLocalBundling(package, requirements).try_bundle(str(tmp_path), None)
    assert list(tmp_path.glob("pydantic_core/_pydantic_core.cpython-313-aarch64-linux-gnu.so"))
    assert (tmp_path / "openai" / "providers" / "bedrock.py").is_file()
    assert (tmp_path / "rft_job" / "runtime" / "launcher.py").is_file()
    assert not (tmp_path / "rft_job" / "infrastructure.py").exists()
    versions = installed_versions(tmp_path)
    for name, version in pins(requirements).items():
        assert versions[name] == version, name


def test_test_environment_runs_the_pinned_versions() -> None:
    """The tests exercise the same dependency versions that the assets ship."""
    from importlib.metadata import version

    for requirements in (ROOT / "lambda_reward" / "requirements.txt", ROOT / "rft_job" / "runtime" / "requirements.txt"):
        for name, pinned in pins(requirements).items():
            assert version(name) == pinned, (requirements.name, name)


def test_code_fingerprint_covers_runtime_files_and_pins_only(tmp_path: Path) -> None:
    package = tmp_path / "component"
    (package / "__pycache__").mkdir(parents=True)
    (package / "handler.py").write_text("def handler(event, context):\n    return 1\n")
    (package / "infrastructure.py").write_text("# CDK construct\n")
    (package / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\0")
    (package / "requirements.txt").write_text("regex==1\n")
    assert [p.name for p in runtime_files(package)] == ["handler.py"]
    before = code_fingerprint(package, package / "requirements.txt")
    (package / "infrastructure.py").write_text("# edited construct\n")
    assert code_fingerprint(package, package / "requirements.txt") == before
    (package / "requirements.txt").write_text("regex==2\n")
    after_pin = code_fingerprint(package, package / "requirements.txt")
    assert after_pin != before
    (package / "handler.py").write_text("def handler(event, context):\n    return 2\n")
    assert code_fingerprint(package, package / "requirements.txt") != after_pin


def test_a_missing_wheel_fails_loudly_instead_of_falling_back_to_docker(tmp_path: Path) -> None:
    from stacks.python_asset import BundlingError

    package = tmp_path / "component"
    package.mkdir()
    (package / "requirements.txt").write_text("this-package-does-not-exist-anywhere==0.0.1\n")
    with pytest.raises(BundlingError, match="pip could not build the Lambda asset for component"):
        _PipLocalBundling(package, package / "requirements.txt").try_bundle(str(tmp_path / "out"), None)
