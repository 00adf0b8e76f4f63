"""Validation of the RFT training data (JSONL prompts), for any task.

Used at CDK synth time, so a bad file fails the deploy before it reaches S3, and by the
operator CLI before a job is started. Pure Python: no aws_cdk import.

Format (docs/bedrock-rft-reference.md section 2): one JSON object per line,
``{"messages": [...], <the task's fields>}``, OpenAI chat format, an optional system message
first, the last message the user prompt (prompts carry no answer: the model generates and
the grader scores). This module checks what every task needs (the file, the lines, the
messages, Bedrock's record counts, duplicates); then the task's own ``check_record`` (the
module the grader itself scores with) checks each record's fields, so validator and grader
cannot disagree about what a record means. Other fields are passed through.

Decisions:
- The file is read as the repository means it (``stacks.checkout``): a Windows checkout's CRLF
  line endings and a UTF-8 byte order mark are normalised away, for the checks, the sha256
  that fingerprints the job and the bytes uploaded to S3 alike.
- Blank lines are rejected: Bedrock counts lines as records, so a blank line is either an
  empty record or a count that differs from ours. The file's final newline is fine.
- ``content`` is a non-empty string or a list of text blocks (``{"type": "text", "text":
  ...}`` or Converse-style ``{"text": ...}``), concatenated as the grader does. Other
  blocks (images, reasoning), which the grader skips, are rejected: a prompt of this task
  is text only.
- Prompts are compared after stripping surrounding whitespace, so "x" and "x " count as
  the same prompt for the duplicate and disjointness checks.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from lambda_reward.runtime.tasks import Task, load_task
from stacks.checkout import normalized_text

# Bedrock's bounds for an RFT training file.
TRAINING_MIN_RECORDS = 100
MAX_RECORDS = 20_000
# Bedrock's own minimum for a validation file is unconfirmed; below ten prompts the mean
# validation reward is too noisy to tell a learning model from a lucky one.
VALIDATION_MIN_RECORDS = 10

ALLOWED_ROLES = frozenset({"system", "user", "assistant"})
# How many problems DatasetError's message lists before summarising the rest.
MESSAGE_PROBLEM_CAP = 20
# Values quoted in problem messages are shortened so each problem stays one readable line.
QUOTE_CHARS = 60


@dataclass(frozen=True)
class DatasetProblem:
    """One thing wrong with a dataset file; ``line`` is 1-based, None for the whole file."""

    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        location = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{location}: {self.message}"


class DatasetError(ValueError):
    """A dataset failed validation; ``problems`` holds everything found, not just the first."""

    def __init__(self, problems: list[DatasetProblem]) -> None:
        self.problems = list(problems)
        shown = [str(problem) for problem in self.problems[:MESSAGE_PROBLEM_CAP]]
        hidden = len(self.problems) - len(shown)
        if hidden > 0:
            shown.append(f"... and {hidden} more")
        count = len(self.problems)
        header = f"{count} problem{'s' if count != 1 else ''} in RFT training data:"
        super().__init__("\n".join([header, *shown]))


@dataclass(frozen=True)
class DatasetSummary:
    """What a valid file holds; ``prompts`` are the last user prompts, stripped."""

    path: str
    records: int
    sha256: str  # of the normalised content (what is uploaded)
    task: str  # the task whose record check passed
    prompts: frozenset[str]


def validate_dataset(
    path: str | os.PathLike[str],
    *,
    min_records: int = TRAINING_MIN_RECORDS,
    max_records: int = MAX_RECORDS,
    task: Task | None = None,
) -> DatasetSummary:
    """Validate one JSONL file for ``task`` (default: the default task); raise DatasetError listing
    every problem found."""
    if not 1 <= min_records <= max_records:
        raise ValueError(
            f"need 1 <= min_records <= max_records, got {min_records} and {max_records}"
        )
    name = os.fspath(path)
    data = read_dataset(name)
    task = task or load_task(None)

    problems: list[DatasetProblem] = []
    first_line_of_prompt: dict[str, int] = {}

    raw_lines = data.split(b"\n")
    if raw_lines[-1] == b"":
        raw_lines.pop()  # the final newline ends the last line; it does not start another
    for number, raw in enumerate(raw_lines, start=1):
        checked = _check_line(raw, task)
        problems.extend(DatasetProblem(name, number, message) for message in checked.problems)
        if checked.prompt is not None:
            first = first_line_of_prompt.setdefault(checked.prompt, number)
            if first != number:
                message = f"duplicate prompt, same as line {first}: {_short_json(checked.prompt)}"
                problems.append(DatasetProblem(name, number, message))

    records = len(raw_lines)
    if records < min_records:
        problems.append(
            DatasetProblem(name, None, f"{records} records, at least {min_records} needed")
        )
    if records > max_records:
        problems.append(
            DatasetProblem(name, None, f"{records} records, at most {max_records} allowed")
        )
    if problems:
        raise DatasetError(problems)
    return DatasetSummary(
        path=name,
        records=records,
        sha256=sha256(data).hexdigest(),
        task=task.name,
        prompts=frozenset(first_line_of_prompt),
    )


def read_dataset(path: str | os.PathLike[str]) -> bytes:
    """A dataset file's normalised bytes (no BOM, LF line endings): what is checked and uploaded."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as file:
            return normalized_text(file.read())
    except OSError as error:
        reason = error.strerror or str(error)
        raise DatasetError([DatasetProblem(name, None, f"cannot read file: {reason}")]) from None


def check_disjoint(training: DatasetSummary, validation: DatasetSummary) -> None:
    """Raise DatasetError listing prompts in both files: a trained-on prompt proves nothing."""
    shared = sorted(training.prompts & validation.prompts)
    if shared:
        raise DatasetError(
            [
                DatasetProblem(
                    validation.path, None, f"prompt also in {training.path}: {_short_json(prompt)}"
                )
                for prompt in shared
            ]
        )


def validate_training_set(
    training_path: str | os.PathLike[str],
    validation_path: str | os.PathLike[str] | None,
    task: Task | None = None,
) -> tuple[DatasetSummary, DatasetSummary | None]:
    """Validate the training file and the optional validation file, and check they are disjoint.

    The training file needs Bedrock's 100 to 20,000 records. The validation file needs
    VALIDATION_MIN_RECORDS (10) to 20,000: Bedrock's minimum for it is unconfirmed, and
    fewer prompts make the validation reward noise. Problems from both files are collected
    before raising, so one run shows everything to fix.
    """
    problems: list[DatasetProblem] = []
    training: DatasetSummary | None = None
    validation: DatasetSummary | None = None
    try:
        training = validate_dataset(training_path, task=task)
    except DatasetError as error:
        problems.extend(error.problems)
    if validation_path is not None:
        try:
            validation = validate_dataset(validation_path, min_records=VALIDATION_MIN_RECORDS, task=task)
        except DatasetError as error:
            problems.extend(error.problems)
    if training is not None and validation is not None:
        try:
            check_disjoint(training, validation)
        except DatasetError as error:
            problems.extend(error.problems)
    if problems or training is None:
        raise DatasetError(problems)
    return training, validation


@dataclass(frozen=True)
class _LineCheck:
    problems: list[str]
    prompt: str | None  # the last user prompt, stripped, for duplicate detection


def _check_line(raw: bytes, task: Task) -> _LineCheck:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return _LineCheck([f"not valid UTF-8 (byte {error.start}: {error.reason})"], None)
    if not text.strip():
        return _LineCheck(["blank line; Bedrock counts every line as a record"], None)
    try:
        record = json.loads(text, parse_constant=_reject_non_finite)
    except (ValueError, RecursionError) as error:  # RecursionError: absurdly deep nesting
        return _LineCheck([f"not valid JSON: {error}"], None)
    if not isinstance(record, dict):
        return _LineCheck([f"expected a JSON object, got {_json_type(record)}"], None)

    problems: list[str] = []
    if "messages" in record:
        prompt = _check_messages(record["messages"], problems)
    else:
        problems.append("missing 'messages'")
        prompt = None
    try:
        problems.extend(task.check_record(record))
    except Exception as error:  # a bug in a task's check names the line instead of stopping synth blind
        problems.append(f"task {task.name}'s record check failed: {type(error).__name__}: {error}")
    return _LineCheck(problems, None if prompt is None else prompt.strip())


def _check_messages(messages: Any, problems: list[str]) -> str | None:
    """Check the chat messages; return the last user prompt's text if they are well formed."""
    if not isinstance(messages, list) or not messages:
        problems.append(f"'messages' must be a non-empty list, got {_json_type(messages)}")
        return None
    well_formed = True
    prompt: str | None = None
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        if not isinstance(message, dict):
            problems.append(f"{where} must be an object, got {_json_type(message)}")
            well_formed = False
            continue
        role = message.get("role")
        # isinstance first: a list or object role is unhashable.
        if not isinstance(role, str) or role not in ALLOWED_ROLES:
            allowed = ", ".join(sorted(ALLOWED_ROLES))
            problems.append(f"{where}.role must be one of {allowed}, got {_short_json(role)}")
            well_formed = False
        elif role == "system" and index != 0:
            problems.append(f"{where} is a system message; one is only allowed first")
            well_formed = False
        prompt = _content_text(message.get("content"))
        if prompt is None:
            problems.append(
                f"{where}.content must be a non-empty string or list of text blocks, "
                f"got {_short_json(message.get('content'))}"
            )
            well_formed = False
    last = messages[-1]
    if isinstance(last, dict) and last.get("role") != "user":
        problems.append(
            f"last message must be the user prompt, got role {_short_json(last.get('role'))} "
            "(prompts carry no answer)"
        )
        well_formed = False
    return prompt if well_formed else None


def _content_text(content: Any) -> str | None:
    """The text of a message's content, or None unless it is non-empty text."""
    if isinstance(content, str):
        return content if content.strip() else None
    if not isinstance(content, list) or not content:
        return None
    parts: list[str] = []
    for block in content:
        if not isinstance(block, dict) or not isinstance(block.get("text"), str):
            return None
        if block.get("type", "text") != "text":
            return None
        parts.append(block["text"])
    text = "".join(parts)
    return text if text.strip() else None


def _reject_non_finite(constant: str) -> Any:
    # Python's json accepts NaN and Infinity; JSON and Bedrock do not.
    raise ValueError(f"{constant} is not valid JSON")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an empty list" if not value else "a list"
    return "an object"


def _short_json(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 3] + "..."
