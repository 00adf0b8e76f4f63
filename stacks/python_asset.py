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

A component may also name parts of its installed dependencies that its code never imports
(`prune`: glob patterns relative to the install folder, such as
`aws_lambda_powertools/event_handler`); they are deleted after pip, before the runtime folder is
copied in, so that the zip carries what the handler loads and not whole libraries. The
dependencies' `.dist-info` folders stay (their RECORD loses the deleted files' lines). Pruning is
part of the asset's identity but not of the code fingerprint: deleting code the handler never
imports does not change what the Lambda does.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path, PurePosixPath

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


def code_fingerprint(runtime_dir: Path, data: tuple[str, ...] = (),
                     ignore: Callable[[Path], bool] | None = None) -> str:
    """SHA-256 of exactly what defines the Lambda's behaviour: runtime files and pinned deps.

    ``ignore`` (a runtime file's path relative to the folder): files that ship but do not define this
    function's behaviour (the grader: the modules of tasks it is not configured with).

    Used as the grader's identity for deciding whether a job must be relaunched; unlike the
    published version ARN it does not change when only memory or timeout change. Paths are
    hashed in POSIX form as they sit in the zip, and contents normalised (stacks.checkout).
    """
    digest = hashlib.sha256()
    files = [path for path in runtime_files(runtime_dir, data)
             if ignore is None or not ignore(path.relative_to(runtime_dir))]
    for path in [*files, runtime_dir / REQUIREMENTS_FILE]:
        digest.update((package_path(runtime_dir) / path.relative_to(runtime_dir)).as_posix().encode() + b"\0")
        digest.update(normalized_text(path.read_bytes()) + b"\0")
    return digest.hexdigest()


def asset_hash(runtime_dir: Path, data: tuple[str, ...] = (), prune: tuple[str, ...] = ()) -> str:
    """The Lambda asset's identity: the code fingerprint plus how pip builds the dependencies.

    What is pruned from the dependencies is part of how they are built (another list is another
    zip); an asset that prunes nothing keeps the identity it had before pruning existed.
    """
    build = " ".join(_PIP_PLATFORM)
    if prune:
        build += "|prune " + json.dumps(sorted(set(check_prune(prune))))
    return hashlib.sha256(f"{code_fingerprint(runtime_dir, data)}|{build}".encode()).hexdigest()


class BundlingError(RuntimeError):
    pass


def check_prune(prune: tuple[str, ...]) -> tuple[str, ...]:
    """The prune patterns, if each is a relative POSIX glob that stays inside the install folder."""
    if isinstance(prune, str):
        raise ValueError(f"prune must be a tuple of glob patterns, not the string {prune!r}")
    for pattern in prune:
        if not pattern or pattern.startswith("/") or "\\" in pattern or ".." in PurePosixPath(pattern).parts:
            raise ValueError(f"prune pattern {pattern!r} must be a relative POSIX path inside the install folder")
    return tuple(prune)


def prune_installed(out: Path, prune: tuple[str, ...]) -> list[str]:
    """Delete what the patterns match under `out` (files or whole folders); return what went.

    A pattern that matches nothing is an error: the list would be stale (a dependency moved or
    renamed the part), and a stale list silently ships what it meant to drop. The RECORD of each
    .dist-info loses the lines of the deleted files, so that it lists exactly what is installed.
    """
    matched: list[tuple[str, Path]] = []
    for pattern in check_prune(prune):
        matches = sorted(out.glob(pattern))
        if not matches:
            raise BundlingError(f"prune pattern {pattern!r} matches nothing in the installed dependencies")
        matched += [(pattern, match) for match in matches]
    for pattern, match in matched:
        top = match.relative_to(out).parts[0]
        if top.endswith(".dist-info"):
            # What is installed, and at which version, stays on record (and checkable).
            raise BundlingError(f"prune pattern {pattern!r} reaches into {top}; a .dist-info always ships")
    removed: list[str] = []
    for _, match in matched:
        if match.is_dir() and not match.is_symlink():
            shutil.rmtree(match)
        elif match.exists() or match.is_symlink():  # not already gone with a folder matched before
            match.unlink()
        else:
            continue
        removed.append(match.relative_to(out).as_posix())
    for record in out.glob("*.dist-info/RECORD"):
        # Line by line, each kept line byte for byte as pip wrote it.
        lines = record.read_bytes().decode("utf-8").splitlines(keepends=True)
        kept = [line for line in lines if not _under(_recorded_path(line), removed)]
        if len(kept) != len(lines):
            record.write_bytes("".join(kept).encode("utf-8"))
    return removed


def _under(path: str, removed: list[str]) -> bool:
    return bool(path) and any(path == gone or path.startswith(gone + "/") for gone in removed)


def _recorded_path(line: str) -> str:
    """The path of one RECORD line (a CSV row: path, hash, size)."""
    row = next(csv.reader([line.rstrip("\r\n")]), [])
    return row[0] if row else ""


@jsii.implements(ILocalBundling)
class _PipLocalBundling:
    def __init__(self, runtime_dir: Path, data: tuple[str, ...] = (), prune: tuple[str, ...] = ()):
        self._runtime_dir = runtime_dir
        self._data = data
        self._prune = check_prune(prune)

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
        # Before the runtime folder is copied in: a pattern can only ever delete dependencies.
        try:
            prune_installed(out, self._prune)
        except BundlingError as error:
            raise BundlingError(f"{package_path(self._runtime_dir)}: {error}") from None
        for path in runtime_files(self._runtime_dir, self._data):
            target = out / package_path(self._runtime_dir) / path.relative_to(self._runtime_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            # The bytes the fingerprint describes: normalised line endings, whatever the checkout.
            target.write_bytes(normalized_text(path.read_bytes()))
        return True


def python_runtime_code(runtime_dir: Path, data: tuple[str, ...] = (),
                        prune: tuple[str, ...] = ()) -> lambda_.Code:
    """Code asset: the runtime folder (importable as in the repository) plus its pinned deps.

    `data`: glob patterns (relative to the folder) of the data files the runtime reads.
    `prune`: glob patterns (relative to the install folder) of installed dependency files and
    folders the runtime never imports; deleted after pip (see `prune_installed`).
    """
    return lambda_.Code.from_asset(
        str(runtime_dir),
        # The asset's identity is the runtime files and pins as the fingerprint sees them (pip's
        # output is not byte-for-byte reproducible): a stray file or a CRLF checkout builds no
        # new asset and publishes no new version.
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=asset_hash(runtime_dir, data, prune),
        bundling=BundlingOptions(
            # Required by the API but never pulled: local bundling always succeeds or raises.
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.13:latest-arm64"),
            local=_PipLocalBundling(runtime_dir, data, prune),
        ),
    )
