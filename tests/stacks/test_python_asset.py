"""Lambda assets built for arm64 without Docker, from exactly the pinned versions."""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_

from stacks.python_asset import (
    _PIP_PLATFORM,
    BundlingError,
    _PipLocalBundling,
    asset_hash,
    code_fingerprint,
    package_path,
    prune_installed,
    python_runtime_code,
    runtime_files,
)

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
    from lambda_reward.infrastructure import TASK_DATA_FILES

    runtime = ROOT / "lambda_reward" / "runtime"
    assert _PipLocalBundling(runtime, TASK_DATA_FILES).try_bundle(str(tmp_path), None) is True
    assert list(tmp_path.glob("regex/_regex.cpython-313-aarch64-linux-gnu.so")), "regex must be the arm64 cp313 wheel"
    assert (tmp_path / "aws_lambda_powertools" / "logging" / "logger.py").is_file()
    shipped = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "lambda_reward").rglob("*") if p.is_file())
    expected = sorted(
        p.relative_to(ROOT).as_posix()
        for p in runtime.rglob("*")
        if p.is_file() and p.suffix in (".py", ".md") and "__pycache__" not in p.parts
    )
    assert shipped == expected  # every task module (and the judge's rubric) ships with the grader
    versions = installed_versions(tmp_path)
    for name, version in pins(runtime / "requirements.txt").items():
        assert versions[name] == version, name


@pytest.mark.slow
def test_job_asset_has_arm64_openai_sdk_and_pinned_boto3(tmp_path: Path) -> None:
    runtime = ROOT / "stacks" / "rft_job" / "runtime"
    _PipLocalBundling(runtime).try_bundle(str(tmp_path), None)
    assert list(tmp_path.glob("pydantic_core/_pydantic_core.cpython-313-aarch64-linux-gnu.so"))
    assert (tmp_path / "openai" / "providers" / "bedrock.py").is_file()
    assert (tmp_path / "stacks" / "rft_job" / "runtime" / "launcher.py").is_file()
    # The runtime folder only: not the construct, not the enclosing packages' own files.
    assert sorted(p.name for p in (tmp_path / "stacks").iterdir()) == ["rft_job"]
    assert sorted(p.name for p in (tmp_path / "stacks" / "rft_job").iterdir()) == ["runtime"]
    versions = installed_versions(tmp_path)
    for name, version in pins(runtime / "requirements.txt").items():
        assert versions[name] == version, name


def test_test_environment_runs_the_pinned_versions() -> None:
    """The tests exercise the same dependency versions that the assets ship."""
    from importlib.metadata import version

    for requirements in (ROOT / "lambda_reward" / "runtime" / "requirements.txt",
                         ROOT / "stacks" / "rft_job" / "runtime" / "requirements.txt"):
        for name, pinned in pins(requirements).items():
            assert version(name) == pinned, (requirements.name, name)


def test_the_package_path_is_the_import_path_of_the_folder(tmp_path: Path) -> None:
    assert package_path(ROOT / "lambda_reward" / "runtime") == Path("lambda_reward/runtime")
    assert package_path(ROOT / "stacks" / "rft_job" / "runtime") == Path("stacks/rft_job/runtime")
    loose = tmp_path / "outer" / "component" / "runtime"
    loose.mkdir(parents=True)
    (loose.parent / "__init__.py").write_text("")
    assert package_path(loose) == Path("component/runtime"), "a folder without __init__.py ends the path"


def test_code_fingerprint_covers_runtime_files_and_pins_only(tmp_path: Path) -> None:
    runtime = tmp_path / "component" / "runtime"
    (runtime / "__pycache__").mkdir(parents=True)
    (runtime / "handler.py").write_text("def handler(event, context):\n    return 1\n")
    (runtime.parent / "infrastructure.py").write_text("# CDK construct, beside the runtime folder\n")
    (runtime / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"\0")
    (runtime / "requirements.txt").write_text("regex==1\n")
    assert [p.name for p in runtime_files(runtime)] == ["handler.py"]
    before = code_fingerprint(runtime)
    (runtime.parent / "infrastructure.py").write_text("# edited construct\n")
    assert code_fingerprint(runtime) == before
    (runtime / "requirements.txt").write_text("regex==2\n")
    after_pin = code_fingerprint(runtime)
    assert after_pin != before
    (runtime / "handler.py").write_text("def handler(event, context):\n    return 2\n")
    assert code_fingerprint(runtime) != after_pin


def test_a_missing_wheel_fails_loudly_instead_of_falling_back_to_docker(tmp_path: Path) -> None:
    from stacks.python_asset import BundlingError

    runtime = tmp_path / "component" / "runtime"
    runtime.mkdir(parents=True)
    (runtime.parent / "__init__.py").write_text("")
    (runtime / "requirements.txt").write_text("this-package-does-not-exist-anywhere==0.0.1\n")
    with pytest.raises(BundlingError, match="pip could not build the Lambda asset for component/runtime"):
        _PipLocalBundling(runtime).try_bundle(str(tmp_path / "out"), None)


# Litter a checkout collects: OS and editor files, tool caches, notes. None of it is runtime code.
STRAY_FILES = (".DS_Store", "handler.py~", ".handler.py.swp", "#handler.py#", "handler.py.orig", "notes.md",
               "notes.txt", "scratch.json", "rules/old.json.bak", "Thumbs.db", ".mypy_cache/3.11/handler.data.json",
               ".ruff_cache/content", "__pycache__/x.pyc")
# The data files the test component declares (as a component passes `data` to its asset).
DATA = ("rules/*.json",)


def component(root: Path, *, crlf: bool = False) -> Path:
    """A component's runtime folder: component/runtime."""
    package = root / "component" / "runtime"
    (package / "rules").mkdir(parents=True)
    ending = "\r\n" if crlf else "\n"
    (package / "__init__.py").write_bytes(b"")
    (package.parent / "__init__.py").write_bytes(b"")
    (package / "handler.py").write_bytes(ending.join(["import json", "def handler(event, context):",
                                                      "    return json.loads('1')", ""]).encode())
    (package / "rules" / "limits.json").write_bytes(ending.join(['{"max": 30}', ""]).encode())
    (package.parent / "infrastructure.py").write_text("# the CDK construct\n")
    (package / "requirements.txt").write_text("")
    return package


def test_stray_files_and_a_windows_checkout_leave_the_fingerprint_alone(tmp_path: Path) -> None:
    clean = component(tmp_path / "clean")
    expected = code_fingerprint(clean, DATA)
    littered = component(tmp_path / "littered")
    for name in STRAY_FILES:
        (littered / name).parent.mkdir(parents=True, exist_ok=True)
        (littered / name).write_text("scratch")
    assert code_fingerprint(littered, DATA) == expected
    windows = component(tmp_path / "windows", crlf=True)
    (windows / "handler.py").write_bytes(b"\xef\xbb\xbf" + (windows / "handler.py").read_bytes())
    assert code_fingerprint(windows, DATA) == expected
    assert [p.relative_to(littered).as_posix() for p in runtime_files(littered, DATA)] == [
        "__init__.py", "handler.py", "rules/limits.json"]
    # A declared data file is part of the code: editing it is a new grader.
    (littered / "rules" / "limits.json").write_text('{"max": 31}\n')
    assert code_fingerprint(littered, DATA) != expected


def test_the_real_grader_fingerprint_ignores_litter_and_line_endings(tmp_path: Path) -> None:
    real = ROOT / "lambda_reward" / "runtime"
    copy = tmp_path / "lambda_reward" / "runtime"
    shutil.copytree(real, copy, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(real.parent / "__init__.py", copy.parent / "__init__.py")
    for path in copy.rglob("*.py"):
        path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    for name in STRAY_FILES:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / name).write_text("scratch")
    assert code_fingerprint(copy) == code_fingerprint(real)


def test_only_runtime_files_reach_the_asset_and_litter_builds_no_new_one(tmp_path: Path) -> None:
    """Bundled as synth bundles it (local pip, no Docker): the zip holds the runtime, LF-normalised."""

    def synthesize(package: Path, outdir: Path) -> tuple[str, Path]:
        app = cdk.App(outdir=str(outdir), context={"aws:cdk:enable-asset-metadata": True})
        stack = cdk.Stack(app, "Bare")
        lambda_.Function(stack, "Fn", runtime=lambda_.Runtime.PYTHON_3_13,
                         handler="component.runtime.handler.handler", code=python_runtime_code(package, data=DATA))
        assembly = app.synth()
        template = assembly.get_stack_by_name("Bare").template
        [function] = [r for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::Function"]
        asset = function["Metadata"]["aws:asset:path"]
        return asset, outdir / asset

    clean = component(tmp_path / "clean", crlf=True)
    asset, staged = synthesize(clean, tmp_path / "out1")
    shipped = sorted(p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file())
    assert shipped == ["component/runtime/__init__.py", "component/runtime/handler.py",
                       "component/runtime/rules/limits.json"]
    assert b"\r\n" not in (staged / "component" / "runtime" / "handler.py").read_bytes()
    for name in STRAY_FILES:
        (clean / name).parent.mkdir(parents=True, exist_ok=True)
        (clean / name).write_text("scratch")
    assert synthesize(clean, tmp_path / "out2")[0] == asset


# ---- pruning installed dependencies (what a runtime never imports) ----

def fake_install(root: Path) -> Path:
    """A pip --target folder with one distribution: pkg (used, unused/, tests/) and its dist-info."""
    files = {"pkg/__init__.py": "", "pkg/used.py": "x = 1\n", "pkg/unused/__init__.py": "",
             "pkg/unused/big.py": "y = 2\n" * 100, "pkg/tests/test_pkg.py": "def test(): pass\n",
             "pkg/tests/data.txt": "keep me\n", "pkg-1.0.dist-info/METADATA": "Name: pkg\nVersion: 1.0\n"}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    # As pip writes it: CSV rows with CRLF endings, RECORD itself without a hash.
    rows = [f"{name},sha256=abc,{len(text)}" for name, text in files.items()] + ["pkg-1.0.dist-info/RECORD,,"]
    (root / "pkg-1.0.dist-info" / "RECORD").write_bytes("".join(row + "\r\n" for row in rows).encode())
    return root


def test_prune_deletes_what_it_names_and_keeps_the_record_true(tmp_path: Path) -> None:
    root = fake_install(tmp_path)
    record = root / "pkg-1.0.dist-info" / "RECORD"
    before = record.read_bytes().split(b"\r\n")
    assert prune_installed(root, ("pkg/unused", "pkg/tests/*.py")) == ["pkg/unused", "pkg/tests/test_pkg.py"]
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == [
        "pkg-1.0.dist-info/METADATA", "pkg-1.0.dist-info/RECORD", "pkg/__init__.py", "pkg/tests/data.txt",
        "pkg/used.py"]
    # The other lines byte for byte, in order; the deleted files' lines gone.
    assert record.read_bytes().split(b"\r\n") == [line for line in before
                                                   if not line.startswith((b"pkg/unused/", b"pkg/tests/test_pkg.py"))]
    assert prune_installed(root, ()) == []


def test_prune_refuses_a_stale_or_overreaching_pattern_before_deleting_anything(tmp_path: Path) -> None:
    root = fake_install(tmp_path)
    with pytest.raises(BundlingError, match="'pkg/renamed' matches nothing"):
        prune_installed(root, ("pkg/unused", "pkg/renamed"))
    with pytest.raises(BundlingError, match="reaches into pkg-1.0.dist-info"):
        prune_installed(root, ("pkg/unused", "pkg-1.0.dist-info/RECORD"))
    with pytest.raises(BundlingError, match="reaches into pkg-1.0.dist-info"):
        prune_installed(root, ("*",))
    for pattern in ("../outside", "/abs/path", "pkg\\unused", ""):
        with pytest.raises(ValueError, match="relative POSIX path"):
            prune_installed(root, (pattern,))
    with pytest.raises(ValueError, match="not the string"):
        _PipLocalBundling(root, prune="pkg/unused")  # type: ignore[arg-type]
    assert (root / "pkg" / "unused" / "big.py").is_file(), "a refused list deletes nothing"


def test_prune_is_part_of_the_asset_hash_but_not_of_the_code_fingerprint(tmp_path: Path) -> None:
    package = component(tmp_path)
    fingerprint = code_fingerprint(package, DATA)
    plain = asset_hash(package, DATA)
    # Pruning nothing is the asset's identity from before pruning existed (no new job Lambda version).
    assert plain == hashlib.sha256(f"{fingerprint}|{' '.join(_PIP_PLATFORM)}".encode()).hexdigest()
    assert asset_hash(package, DATA, ()) == plain
    pruned = asset_hash(package, DATA, ("pkg/unused", "pkg/tests"))
    assert pruned != plain
    assert asset_hash(package, DATA, ("pkg/tests", "pkg/unused")) == pruned, "the order of the list is no change"
    assert asset_hash(package, DATA, ("pkg/unused",)) != pruned
    assert code_fingerprint(package, DATA) == fingerprint  # the grader's identity knows nothing of pruning


def test_a_stale_prune_pattern_fails_the_bundling(tmp_path: Path) -> None:
    package = component(tmp_path)
    with pytest.raises(BundlingError, match="component/runtime: prune pattern 'regex/tests' matches nothing"):
        _PipLocalBundling(package, DATA, prune=("regex/tests",)).try_bundle(str(tmp_path / "out"), None)
    assert not (tmp_path / "out" / "component").exists(), "no runtime code is copied into a failed build"
