"""Lambda code assets for Python packages, built without Docker.

The Lambda runs Python 3.13 on arm64 while synth may run on any machine, so dependencies are
installed with pip's cross-platform options (`--platform manylinux2014_aarch64 --only-binary
:all:`): pip picks the arm64 wheels of the pinned versions and never compiles anything. A
dependency without such a wheel fails the synth with pip's own message rather than shipping a
wheel for the wrong machine.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling, aws_lambda as lambda_

_PIP_PLATFORM = ["--platform", "manylinux2014_aarch64", "--implementation", "cp",
                 "--python-version", "3.13", "--only-binary=:all:"]

# Files in a component folder that are not runtime code: the CDK construct beside it, the pins
# (installed, not copied) and build litter.
NOT_RUNTIME = ("infrastructure.py", "requirements.txt", "__pycache__", "*.pyc", "README.md")


def runtime_files(package_dir: Path) -> list[Path]:
    """The files of a component that end up in its Lambda, in a stable order."""
    files = []
    for path in sorted(package_dir.rglob("*")):
        relative = path.relative_to(package_dir)
        if path.is_file() and not any(relative.match(p) or p in relative.parts for p in NOT_RUNTIME):
            files.append(path)
    return files


def code_fingerprint(package_dir: Path, requirements: Path) -> str:
    """SHA-256 of exactly what defines the Lambda's behaviour: runtime files and pinned deps.

    Used as the grader's identity for deciding whether a job must be relaunched; unlike the
    published version ARN it does not change when only memory or timeout change.
    """
    digest = hashlib.sha256()
    for path in [*runtime_files(package_dir), requirements]:
        digest.update(str(path.relative_to(package_dir.parent)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


class BundlingError(RuntimeError):
    pass


@jsii.implements(ILocalBundling)
class _PipLocalBundling:
    def __init__(self, package_dir: Path, requirements: Path):
        self._package_dir = package_dir
        self._requirements = requirements

    # jsii calls this positionally: (output_dir, options).
    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:  # noqa: ARG002
        out = Path(output_dir)
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                   "--no-compile", *_PIP_PLATFORM, "--target", str(out), "-r", str(self._requirements)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            # Returning False would make CDK fall back to Docker, which this project never uses.
            raise BundlingError(
                f"pip could not build the Lambda asset for {self._package_dir.name} from "
                f"{self._requirements}:\n{result.stderr.strip() or result.stdout.strip()}")
        for path in runtime_files(self._package_dir):
            target = out / self._package_dir.name / path.relative_to(self._package_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
        return True


def python_package_code(package_dir: Path, requirements: Path | None = None) -> lambda_.Code:
    """Code asset: the package folder itself (importable by its name) plus its pinned deps."""
    requirements = requirements or package_dir / "requirements.txt"
    return lambda_.Code.from_asset(
        str(package_dir),
        # The asset hash covers the runtime files and the pins only, so editing the construct
        # beside them does not publish a new Lambda version.
        exclude=[pattern for pattern in NOT_RUNTIME if pattern != "requirements.txt"],
        # pip's output is not byte-for-byte reproducible, so hash the source (and the pins in
        # requirements.txt): the same code and pins always give the same asset.
        asset_hash_type=AssetHashType.SOURCE,
        bundling=BundlingOptions(
            # Required by the API but never pulled: local bundling always succeeds or raises.
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.13:latest-arm64"),
            local=_PipLocalBundling(package_dir, requirements),
        ),
    )
