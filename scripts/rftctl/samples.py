"""Reading prompt and sample files, and turning a prompt plus an answer into a grader sample.

A grader sample has the shape the reference documents for what Bedrock sends the reward Lambda
(docs/bedrock-rft-reference.md section 3): ``{"id", "messages": [..., user, assistant],
"metadata": {<the record's extra fields>}}``, ``metadata`` only when there are extra fields.
The grader reads extra fields at the top level or under ``metadata``, so local scores do not
depend on which of the two readings Bedrock really uses.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stacks.config import PROJECT_ROOT, TASK_DATA_DIRECTORY, TASK_VALIDATION_FILE
from stacks.rft_job.runtime.contract import Output
from stacks.rft_job.runtime.job_spec import JobSpecError, split_s3_uri

from .context import CommandContext
from .errors import EXIT_CHECK_FAILED, CliError

if TYPE_CHECKING:
    from lambda_reward.runtime.tasks import Task


def repo_validation_file(task: Task) -> Path:
    """The validation prompts the stacks upload by default for ``task`` (stacks/config.py dataset defaults)."""
    return TASK_DATA_DIRECTORY / task.name / TASK_VALIDATION_FILE


@dataclass(frozen=True)
class PromptRecord:
    """One training-data line: the conversation up to the user prompt, plus its extra fields."""

    line: int
    messages: list[dict[str, Any]]
    extra_fields: dict[str, Any]

    @property
    def prompt(self) -> str:
        from lambda_reward.runtime.samples import USER_ROLE, message_text

        for message in reversed(self.messages):
            if message.get("role") == USER_ROLE:
                return message_text(message.get("content")) or ""
        return ""

    def answered(self, answer: str, sample_id: Any) -> dict[str, Any]:
        """The grader sample for ``answer``; extra fields (char_limit, ...) go under ``metadata``."""
        return bedrock_sample(sample_id, [*self.messages, {"role": "assistant", "content": answer}], self.extra_fields)


def bedrock_sample(sample_id: Any, messages: list[dict[str, Any]], extra_fields: dict[str, Any]) -> dict[str, Any]:
    sample: dict[str, Any] = {"id": sample_id, "messages": messages}
    if extra_fields:
        sample["metadata"] = dict(extra_fields)
    return sample


def read_jsonl(path: Path) -> list[tuple[int, Any]]:
    """(line number, decoded value) for every non-blank line; a bad line stops with file:line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise CliError(f"{path}: cannot read: {error.strerror or error}", EXIT_CHECK_FAILED) from error
    except UnicodeDecodeError as error:
        raise CliError(f"{path}: not UTF-8 text ({error.reason})", EXIT_CHECK_FAILED) from error
    records = []
    # split("\n") as stacks/dataset.py counts lines: str.splitlines() would also split inside a
    # JSON string at U+2028 and friends, which are valid unescaped there.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            records.append((number, json.loads(line)))
        except json.JSONDecodeError as error:
            raise CliError(f"{path}:{number}: not valid JSON: {error.msg}", EXIT_CHECK_FAILED) from error
    if not records:
        raise CliError(f"{path}: no records", EXIT_CHECK_FAILED)
    return records


def grader_sample(record: Any, *, path: Path, line: int) -> dict[str, Any]:
    """A grader sample from a line that is one already, or a simpler ``{"prompt", "answer"}``.

    A simple line becomes ``{"id": <line number>, "messages": [user, assistant], "metadata": {...}}``;
    its other fields (``char_limit``, ``reference_answer``, ...) go under ``metadata``, where the
    reference says Bedrock passes a training record's extra fields. Integer ids by default: the
    seed article saw Bedrock send integers.
    """
    if not isinstance(record, dict):
        raise CliError(f"{path}:{line}: expected a JSON object", EXIT_CHECK_FAILED)
    if "messages" in record:
        return record if "id" in record else {"id": line, **record}
    if "prompt" in record and "answer" in record:
        prompt, answer = record["prompt"], record["answer"]
        if not isinstance(prompt, str) or not isinstance(answer, str):
            raise CliError(f"{path}:{line}: 'prompt' and 'answer' must be strings", EXIT_CHECK_FAILED)
        extra = {key: value for key, value in record.items() if key not in ("prompt", "answer", "id")}
        messages = [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}]
        return bedrock_sample(record.get("id", line), messages, extra)
    raise CliError(
        f'{path}:{line}: expected a Bedrock sample {{"id", "messages": [user, assistant]}} or {{"prompt", "answer"}}',
        EXIT_CHECK_FAILED,
    )


def read_grader_samples(path: Path) -> list[dict[str, Any]]:
    return [grader_sample(record, path=path, line=line) for line, record in read_jsonl(path)]


def read_prompt_records(path: Path, task: Task) -> list[PromptRecord]:
    """Prompts from a training-data file, checked by the same validator the synth uses."""
    from stacks.dataset import DatasetError, validate_dataset

    try:
        validate_dataset(path, min_records=1, task=task)
    except DatasetError as error:
        first = error.problems[0]
        more = f" (and {len(error.problems) - 1} more; run: rftctl validate {path})" if len(error.problems) > 1 else ""
        raise CliError(f"{first}{more}", EXIT_CHECK_FAILED) from error
    records = []
    for line, record in read_jsonl(path):
        extra = {key: value for key, value in record.items() if key != "messages"}
        records.append(PromptRecord(line=line, messages=record["messages"], extra_fields=extra))
    return records


def load_prompts(
    ctx: CommandContext, given: Path | None, from_stack: bool, task: Task
) -> tuple[str, list[PromptRecord]]:
    """(where they came from, prompts): the given file, else the task's validation set in the repo,
    else the stack's uploaded one (ValidationDataUri), which is read through a temporary file."""
    if given is not None:
        return str(given), read_prompt_records(given, task)
    repo_file = repo_validation_file(task)
    if not from_stack and repo_file.is_file():
        return str(repo_file.relative_to(PROJECT_ROOT)), read_prompt_records(repo_file, task)
    stack = ctx.stack()
    uri = stack.output(Output.VALIDATION_DATA_URI)
    try:
        bucket, key = split_s3_uri(uri)
    except JobSpecError as error:
        raise CliError(f"stack output ValidationDataUri is not an S3 object URI: {uri}") from error
    body = ctx.clients.client("s3", stack.region).get_object(Bucket=bucket, Key=key)["Body"].read()
    with tempfile.TemporaryDirectory(prefix="rftctl-") as directory:
        path = Path(directory) / Path(key).name
        path.write_bytes(body)
        return uri, read_prompt_records(path, task)


def add_prompt_arguments(parser: argparse.ArgumentParser) -> None:
    """FILE, --from-stack, --limit and --task: where preflight and compare take their prompts from, and
    the task they grade with."""
    from .task_choice import DEFAULT_DEPLOYED, add_task_argument

    add_task_argument(parser, default=DEFAULT_DEPLOYED)
    parser.add_argument("prompts", nargs="?", type=Path, metavar="FILE", help="JSONL prompts (training-data format)")
    parser.add_argument(
        "--from-stack", action="store_true", help="use the stack's uploaded validation set (ValidationDataUri)"
    )
    parser.add_argument("--limit", type=int, metavar="N", help="only the first N prompts")


def selected_prompts(
    ctx: CommandContext, args: argparse.Namespace, task: Task
) -> tuple[str, list[PromptRecord]]:
    """(where they came from, prompts) for the options add_prompt_arguments defines, checked with ``task``
    (the task they will be graded with)."""
    if args.limit is not None and args.limit < 1:
        raise CliError("--limit must be at least 1")
    source, records = load_prompts(ctx, args.prompts, args.from_stack, task)
    return source, records[: args.limit]
