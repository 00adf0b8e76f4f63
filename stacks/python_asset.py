"""Lambda code assets from a component's runtime folder, built without Docker.

Each Lambda's shipped code is its component's `runtime/` folder (beside the construct), an
importable package: `lambda_reward/runtime` ships as `lambda_reward.runtime` and
`stacks/rft_job/runtime` as `stacks.rft_job.runtime`. The asset is that
folder plus its pinned dependencies (`runtime/requirements.txt`); nothing beside it ships.

The Lambda runs Python 3.13 on arm64 while synth may run on any machine, so dependencies are
installed with pip's cross-platform options (`--platform manylinux2014_aarch64 --only-binary
:all:`): pip picks the arm64 wheels of the pinned versions and never compiles anything. A
dependency without such a wheel fails the synth with pip's own message rather than shipping a
wheel for the wrong machine.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling, aws_lambda as lambda_

from stacks.checkout import normalized_text

_PIP_PLATFORM = ["--platform", "manylinux2014_aarch64", "--implementation", "cp",
                 "--python-version", "3.13", "--only-binary=:all:"]

# What a runtime folder ships: its Python modules, plus the data files the component names (glob
# patterns relative to the folder). An allow-list, so that nothing else in the folder (editor
# backups and swap files, .DS_Store, tool caches, notes, scratch .json or .txt files, the pins
# themselves) reaches the zip or changes the code's fingerprint, and so starts a new paid job.
RUNTIME_SUFFIXES = (".py",)
REQUIREMENTS_FILE = "requirements.txt"


def _hidden_or_cache(relative: Path) -> bool:
    # Hidden files and folders (.mypy_cache/, .ruff_cache/, .foo.py.swp) and byte code.
    return any(part.startswith(".") or part == "__pycache__" for part in relative.parts)


def is_runtime_file(relative: Path, data: tuple[str, ...] = ()) -> bool:
    if _hidden_or_cache(relative):
        return False
    return relative.suffix in RUNTIME_SUFFIXES or any(relative.match(pattern) for pattern in data)


def runtime_files(runtime_dir: Path, data: tuple[str, ...] = ()) -> list[Path]:
    """The files of a runtime folder that end up in its Lambda, in a stable order."""
    return sorted(
        (path for path in runtime_dir.rglob("*")
         if path.is_file() and is_runtime_file(path.relative_to(runtime_dir), data)),
        key=lambda path: path.relative_to(runtime_dir).as_posix(),
    )


def package_path(runtime_dir: Path) -> Path:
    """Where the folder sits in the zip, so it imports as in the repository.

    Its import path: the folder and each enclosing package (a folder with an `__init__.py`), as
    Python resolves it from the project root. `lambda_reward/runtime` ships as
    `lambda_reward/runtime`, `stacks/rft_job/runtime` as `stacks/rft_job/runtime`; the enclosing
    packages' own files stay behind (the zip's `stacks/` holds only `rft_job/runtime/`).
    """
    path = Path(runtime_dir.name)
    parent = runtime_dir.parent
    while (parent / "__init__.py").is_file():
        path = Path(parent.name) / path
        parent = parent.parent
    return path


def handler_path(runtime_dir: Path, entry_point: str) -> str:
    """The Lambda handler setting for `entry_point` ("module.function") of a runtime folder."""
    return ".".join([*package_path(runtime_dir).parts, entry_point])


def code_fingerprint(runtime_dir: Path, data: tuple[str, ...] = ()) -> str:
    """SHA-256 of exactly what defines the Lambda's behaviour: runtime files and pinned deps.

    Used as the grader's identity for deciding whether a job must be relaunched; unlike the
    published version ARN it does not change when only memory or timeout change. Paths are
    hashed in POSIX form as they sit in the zip, and contents normalised (stacks.checkout).
    """
    digest = hashlib.sha256()
    for path in [*runtime_files(runtime_dir, data), runtime_dir / REQUIREMENTS_FILE]:
        digest.update((package_path(runtime_dir) / path.relative_to(runtime_dir)).as_posix().encode() + b"\0")
        digest.update(normalized_text(path.read_bytes()) + b"\0")
    return digest.hexdigest()


def asset_hash(runtime_dir: Path, data: tuple[str, ...] = ()) -> str:
    """The Lambda asset's identity: the code fingerprint plus how pip builds the dependencies."""
    build = " ".join(_PIP_PLATFORM)
    return hashlib.sha256(f"{code_fingerprint(runtime_dir, data)}|{build}".encode()).hexdigest()


class BundlingError(RuntimeError):
    pass


@jsii.implements(ILocalBundling)
class _PipLocalBundling:
    def __init__(self, runtime_dir: Path, data: tuple[str, ...] = ()):
        self._runtime_dir = runtime_dir
        self._data = data

    # jsii calls this positionally: (output_dir, options).
    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:  # noqa: ARG002
        out = Path(output_dir)
        requirements = self._runtime_dir / REQUIREMENTS_FILE
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                   "--no-compile", *_PIP_PLATFORM, "--target", str(out), "-r", str(requirements)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            # Returning False would make CDK fall back to Docker, which this project never uses.
            raise BundlingError(
                f"pip could not build the Lambda asset for {package_path(self._runtime_dir)} from "
                f"{requirements}:\n{result.stderr.strip() or result.stdout.strip()}")
        for path in runtime_files(self._runtime_dir, self._data):
            target = out / package_path(self._runtime_dir) / path.relative_to(self._runtime_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            # The bytes the fingerprint describes: normalised line endings, whatever the checkout.
            target.write_bytes(normalized_text(path.read_bytes()))
        return True


def python_runtime_code(runtime_dir: Path, data: tuple[str, ...] = ()) -> lambda_.Code:
    """Code asset: the runtime folder (importable as in the repository) plus its pinned deps.

    `data`: glob patterns (relative to the folder) of the data files the runtime reads.
    """
    return lambda_.Code.from_asset(
        str(runtime_dir),
        # The asset's identity is the runtime files and pins as the fingerprint sees them (pip's
        # output is not byte-for-byte reproducible): a stray file or a CRLF checkout builds no
        # new asset and publishes no new version.
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=asset_hash(runtime_dir, data),
        bundling=BundlingOptions(
            # Required by the API but never pulled: local bundling always succeeds or raises.
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.13:latest-arm64"),
            local=_PipLocalBundling(runtime_dir, data),
        ),
    )
