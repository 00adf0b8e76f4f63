"""rftctl's files: the JSON documents it writes and reads back (``rftctl.<kind>``, see console.py) and
the text files it loads, with errors that name the file and the field; output written all or nothing."""

from __future__ import annotations

import codecs
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .console import json_text
from .errors import CliError

# A saved document is a few MB at most (every metric of a long job); a bigger file is a wrong file.
MAX_DOCUMENT_BYTES = 64 * 1024 * 1024


class DocumentError(CliError):
    """A saved file that is not the document expected; the message names the file and the field."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"duplicate key {key!r}")
        found[key] = value
    return found


def read_text_file(path: Path, what: str) -> str:
    """A saved file's text: UTF-8 with or without a byte order mark, or UTF-16 with one (what Windows
    PowerShell's ``>`` writes)."""
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise DocumentError(f"{path}: is a directory, expected {what}")
        if size > MAX_DOCUMENT_BYTES:
            raise DocumentError(f"{path}: {size} bytes is too large for {what} (at most {MAX_DOCUMENT_BYTES})")
        data = path.read_bytes()
    except FileNotFoundError:
        raise DocumentError(f"{path}: no such file ({what})") from None
    except OSError as error:
        raise DocumentError(f"{path}: cannot read it: {error.strerror or error}") from None
    encoding = "utf-16" if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        name = "UTF-16" if encoding == "utf-16" else "UTF-8"
        raise DocumentError(f"{path}: not {name} text (byte {error.start}): expected {what}") from None


def read_json_document(path: Path, kind: str, version: int) -> dict[str, Any]:
    """The JSON document in ``path``, checked to be ``rftctl.<kind>`` version ``version``.

    Strict: duplicate keys, NaN and Infinity are refused (rftctl never writes them), so a file
    edited by hand fails here with its name rather than later with a wrong figure.
    """
    expected = f"rftctl.{kind}"
    text = read_text_file(path, f"an {expected} JSON document")
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise DocumentError(
            f"{path}: not JSON (line {error.lineno} column {error.colno}: {error.msg}); expected {expected}"
        ) from None
    except ValueError as error:
        raise DocumentError(f"{path}: not valid JSON for rftctl ({error}); expected {expected}") from None
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        raise DocumentError(f"{path}: not an rftctl JSON document (no \"kind\"); expected {expected}")
    if data["kind"] != expected:
        raise DocumentError(f"{path}: is an {data['kind']} document, expected {expected}")
    found_version = data.get("version")
    if found_version != version or isinstance(found_version, bool):
        raise DocumentError(
            f"{path}: {expected} version {found_version!r}; this rftctl reads version {version} "
            "(write it again with this rftctl, or use the rftctl that wrote it)"
        )
    return data


def field_of(data: Mapping[str, Any], name: str, types: type | tuple[type, ...], path: Path, where: str = "",
             *, required: bool = True) -> Any:
    """``data[name]`` of the given type (None allowed when not required); the error names file and field."""
    wanted = types if isinstance(types, tuple) else (types,)
    value = data.get(name)
    if value is None and not required:
        return None
    # bool is an int to Python, never to a reader of the document.
    if isinstance(value, wanted) and not (isinstance(value, bool) and bool not in wanted):
        return value
    got = "missing" if name not in data else f"{type(value).__name__} {json.dumps(value, ensure_ascii=False)[:60]}"
    raise DocumentError(f"{path}: {where}{name} is {got}, expected {' or '.join(t.__name__ for t in wanted)}")


def objects_of(data: Mapping[str, Any], name: str, path: Path) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Each object of the list ``data[name]``, with where it is (``series[3].``) for the errors about it."""
    for index, item in enumerate(field_of(data, name, list, path)):
        if not isinstance(item, dict):
            raise DocumentError(f"{path}: {name}[{index}] is {type(item).__name__}, expected an object")
        yield f"{name}[{index}].", item


def check_output_directory(path: Path, flag: str) -> None:
    """Refuse a file whose directory does not exist before anything is fetched."""
    if not path.parent.is_dir():
        raise CliError(f"{flag} {path}: directory {path.parent} does not exist")
    if path.is_dir():
        raise CliError(f"{flag} {path}: is a directory; give a file name")


def write_atomically(path: Path, data: str | bytes, flag: str) -> None:
    """Write ``path`` through a temporary file in its directory and a rename: a reader never sees half a
    file, and a failed write leaves what was there."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(payload)
                file.flush()
                os.fsync(file.fileno())  # on disk before the rename makes it the file
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as error:
        raise CliError(f"{flag} {path}: cannot write it: {error.strerror or error}") from error


def write_json_document(path: Path, document: Mapping[str, Any], flag: str) -> None:
    write_atomically(path, json_text(document) + "\n", flag)
