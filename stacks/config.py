"""Typed, validated configuration, built once from the CDK context (cdk.json, `-c` overrides).

Every setting the stacks use comes from here; constructs never read context themselves. A bad
value stops synth with a `ConfigError` that names the context key, the field and what is allowed,
and lists every problem found rather than only the first.

Context keys (all under the `rft:` prefix; see cdk.json for the defaults):

- `rft:appPrefix`      prefix of SSM parameter names and resource names
- `rft:tags`           tags on every resource of every stack
- `rft:launchJob`      false deploys everything but starts no RFT job
- `rft:notificationEmails`  e-mail addresses subscribed to the job-state topic
- `rft:trackerPollMinutes`  how often the job tracker polls the job
- `rft:task`           the grader's task: a module of lambda_reward/runtime/tasks (`char-limit`,
                       `math-answer`, ...), or {"name": ..., <its options>}
- `rft:dataset`        {"directory", "training", "validation"}; by default the task's own
                       dataset, training-data/<task>/training.jsonl and validation.jsonl
- `rft:grader`         {"memoryMb", "timeoutSeconds", "logRetentionDays", "reservedConcurrency"}; no
                       reservation by default: Bedrock calls the grader in parallel for every
                       rollout batch, and a reservation both carves capacity out of the account's
                       pool and caps the grader, throttling training above it (a team sharing an
                       account may want one). Not part of the job's fingerprint. No provisioned
                       concurrency: it would sit on retained grader versions, billed after the job.
- `rft:alarms`         {"enabled", "periodMinutes", "evaluationPeriods", "graderErrors",
                       "graderThrottles", "graderDurationShare", "malformedShare"}: the stack's
                       CloudWatch alarms (on its job-state topic) and their thresholds
                       (stacks/monitoring.py, docs/monitoring.md)
- `rft:nova`           the Nova 2 Lite stack: {"enabled", "stackName", "baseModel",
                       "hyperParameters", "createModelDeployment", "sendValidationData",
                       + any shared key above}
- `rft:mantle`         the open-weight stacks: {"models", "hyperParameters", "baseUrl",
                       "graderPrincipal", "sendValidationFile", "sendMetadata",
                       "pinGraderVersion", "modelOverrides", + any shared key above}

How overrides combine (see `resolve_context`):
- `-c` values arrive as strings, so a field that wants a number, a boolean, a list or an object
  also accepts its JSON text (`-c rft:launchJob=false`, `-c 'rft:mantle={"models": [...]}'`).
- An object given with `-c` is merged into the cdk.json object of the same key, key by key
  (nested objects too); lists and single values replace. A `null` puts a field back to its
  default (for `dataset.validation` it switches validation data off, as `""` does).
- A dotted key sets one field inside an object: `-c rft:nova.hyperParameters.epochCount=3`.
- `rft:task` is merged the same way only when the override names the same task (or none): a new
  task starts from its own defaults, never from another task's options.
- An `rft:` key the configuration does not know stops synth, naming the nearest known key: a
  typo must never deploy the defaults (`-c rft:launchjob=false` would launch a paid job).
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lambda_reward.runtime.tasks import NAME_KEY, Task, TaskError, load_task, module_name
from stacks.models import model_ids, rft_model, variant_region
from stacks.rft_job.runtime.contract import RESERVED_TAG_KEYS, Variant

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTEXT_PREFIX = "rft:"

NOVA_BASE_MODELS = model_ids(Variant.NOVA)
MANTLE_BASE_MODELS = model_ids(Variant.MANTLE)

# Documented OpenAI reinforcement fine-tuning hyperparameters. Which of them Bedrock's mantle
# API honours beyond n_epochs, batch_size and learning_rate_multiplier is UNCONFIRMED (see the
# reference, section 6); an unknown key is rejected rather than silently sent to a paid job.
MANTLE_HYPERPARAMETERS: dict[str, tuple[type, float | None, float | None, tuple[str, ...]]] = {
    # name: (type, minimum, maximum, allowed strings)
    "n_epochs": (int, 1, 50, ()),
    "batch_size": (int, 1, 256, ()),  # OpenAI's reinforcement schema's maximum
    "learning_rate_multiplier": (float, 1e-6, 10.0, ()),
    "eval_interval": (int, 1, 100, ()),
    "eval_samples": (int, 1, 100, ()),
    "compute_multiplier": (float, 1e-5, 10.0, ()),
    "reasoning_effort": (str, None, None, ("low", "medium", "high")),
}

_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")
_APP_PREFIX = re.compile(r"^[a-z][a-z0-9-]{1,30}[a-z0-9]$")
_DATASET_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.jsonl$")
# The tags also go on the Nova job and model, and Bedrock's tag pattern is ASCII only.
_TAG_KEY = re.compile(r"^[\w .:/=+\-@]{1,128}$", re.ASCII)
_TAG_VALUE = re.compile(r"^[\w .:/=+\-@]{0,256}$", re.ASCII)
# AWS resources take 50 tags; every stack adds two of its own (rft:app, rft:variant), and
# aws-cdk-lib one on the training bucket (the dataset upload's ownership marker).
MAX_TAGS = 47
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ACCOUNT = re.compile(r"^\d{12}$")
# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                      1827, 2192, 2557, 2922, 3288, 3653)


class ConfigError(ValueError):
    """One or more configuration values are invalid; `problems` lists each one."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"invalid configuration in cdk.json context or -c overrides:\n{lines}")


@dataclass(frozen=True)
class DatasetConfig:
    directory: Path
    training_file: str
    validation_file: str | None

    @property
    def training_path(self) -> Path:
        return self.directory / self.training_file

    @property
    def validation_path(self) -> Path | None:
        return self.directory / self.validation_file if self.validation_file else None

    # Keys under training-data/ in the bucket: the folder's name keeps the task's files apart.
    @property
    def training_key(self) -> str:
        return f"{self.directory.name}/{self.training_file}"

    @property
    def validation_key(self) -> str | None:
        return f"{self.directory.name}/{self.validation_file}" if self.validation_file else None


# The dataset a task brings: training-data/<task>/ holds these two files.
TASK_DATA_DIRECTORY = PROJECT_ROOT / "training-data"
TASK_TRAINING_FILE = "training.jsonl"
TASK_VALIDATION_FILE = "validation.jsonl"


@dataclass(frozen=True)
class GraderConfig:
    memory_mb: int | None  # None: what the task needs (Task.grader_memory_mb)
    timeout_seconds: int | None  # None: what the task needs (Task.grader_timeout_seconds)
    log_retention_days: int
    # None: no reservation. Bedrock calls the grader in parallel for every rollout batch; a
    # reservation takes capacity from the account's pool and caps the grader at it (throttles).
    reserved_concurrency: int | None = None


# Lambda's own bound: concurrency is per account and region (1,000 by default, raised on request).
MAX_CONCURRENCY = 10_000


@dataclass(frozen=True)
class AlarmsConfig:
    """rft:alarms: the stack's CloudWatch alarms, which notify its job-state topic (stacks/monitoring.py).

    An alarm fires when its metric breaches the threshold in `evaluation_periods` periods in a row
    of `period_minutes` each; a period without data (no grader calls, no tracker runs) is fine.
    """

    enabled: bool = True
    period_minutes: int = 5
    evaluation_periods: int = 1
    grader_errors: int = 1  # failed grader invocations per period
    grader_throttles: int = 1  # throttled grader invocations per period
    grader_duration_share: float = 0.8  # p99 duration as a share of the grader's timeout
    malformed_share: float = 0.5  # malformed samples as a share of the samples scored in a period



@dataclass(frozen=True)
class StackConfig:
    """Everything one variant stack needs, already validated."""

    stack_name: str
    variant: Variant
    base_model: str
    hyperparameters: Mapping[str, Any]
    dataset: DatasetConfig
    grader: GraderConfig
    task: Task
    launch_job: bool
    tags: Mapping[str, str]
    notification_emails: tuple[str, ...]
    tracker_poll_minutes: int
    app_prefix: str
    create_model_deployment: bool = False
    mantle_base_url: str | None = None
    alarms: AlarmsConfig = field(default_factory=AlarmsConfig)
    grader_principal: str = "bedrock.amazonaws.com"
    # Request fields no AWS example sends (reference, section 6): each can be switched off
    # when the service rejects it; the defaults send them.
    send_validation_data: bool = True  # Nova validationDataConfig / mantle validation_file
    send_metadata: bool = True  # mantle: the job's identity in `metadata`
    pin_grader_version: bool = True  # mantle: the grader's published version ARN, not $LATEST

    @property
    def region(self) -> str:
        model = rft_model(self.base_model)
        return model.region if model is not None else variant_region(self.variant)

    @property
    def parameter_prefix(self) -> str:
        """SSM path under which this stack publishes its outputs."""
        return f"/{self.app_prefix}/{self.stack_name}"

    @property
    def name_prefix(self) -> str:
        """Lowercase prefix for the names of jobs and models this stack creates (<= 32 chars)."""
        slug = re.sub(r"[^a-z0-9]+", "-", self.stack_name.lower()).strip("-")
        return slug[:32].rstrip("-")


@dataclass(frozen=True)
class AppConfig:
    account: str | None
    stacks: tuple[StackConfig, ...] = field(default_factory=tuple)


class _Problems:
    """Collects problems so that one synth reports all of them."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}")


def _decode(raw: Any) -> Any:
    """`-c key=value` gives strings; accept JSON text wherever a richer value is expected."""
    if isinstance(raw, str):
        text = raw.strip()
        if text[:1] in "[{" or text in ("true", "false", "null") or re.fullmatch(r"-?\d+(\.\d+)?([eE]-?\d+)?", text):
            try:
                return json.loads(text)
            except json.JSONDecodeError:
                return raw
    return raw


def _as_object(raw: Any, where: str, problems: _Problems) -> dict[str, Any]:
    value = _decode(raw)
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.add(where, f"expected an object, got {type(value).__name__} {value!r}")
        return {}
    return value


def nearest(word: str, known: Any) -> str | None:
    """The known name closest to a mistyped one (case-insensitive), or None if none is close."""
    by_lower = {name.lower(): name for name in known}
    match = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[match[0]] if match else None


def _reject_unknown(obj: Mapping[str, Any], allowed: set[str], where: str, problems: _Problems) -> None:
    for key in sorted(set(obj) - allowed, key=str):
        guess = nearest(str(key), allowed)
        hint = f"did you mean {guess}? " if guess else ""
        problems.add(f"{where}.{key}", f"unknown setting; {hint}allowed: {', '.join(sorted(allowed))}")


def _bool(raw: Any, where: str, problems: _Problems, default: bool) -> bool:
    value = _decode(raw)
    if value is None:
        return default
    if not isinstance(value, bool):
        problems.add(where, f"expected true or false, got {value!r}")
        return default
    return value


def _int(raw: Any, where: str, problems: _Problems, default: int, lo: int, hi: int) -> int:
    value = _decode(raw)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        problems.add(where, f"expected a whole number from {lo} to {hi}, got {value!r}")
        return default
    if not lo <= value <= hi:
        problems.add(where, f"{value} is out of range; allowed {lo} to {hi}")
        return default
    return value


def _string(raw: Any, where: str, problems: _Problems, default: str | None,
            check: Callable[[str], bool] = lambda s: True, allowed: str = "a non-empty string") -> str | None:
    if raw is None:
        return default
    if not isinstance(raw, str) or not raw or not check(raw):
        problems.add(where, f"expected {allowed}, got {raw!r}")
        return default
    return raw


def _tags(raw: Any, where: str, problems: _Problems) -> dict[str, str]:
    tags = _as_object(raw, where, problems)
    clean: dict[str, str] = {}
    for key, value in tags.items():
        if key.lower().startswith("aws:") or key in RESERVED_TAG_KEYS or not _TAG_KEY.match(key):
            problems.add(f"{where}.{key}", "tag keys are 1-128 ASCII letters, digits, spaces or _.:/=+-@, "
                                           f"may not start with aws: and are not one of {', '.join(RESERVED_TAG_KEYS)}")
        elif not isinstance(value, str) or not _TAG_VALUE.match(value):
            problems.add(
                f"{where}.{key}",
                f"tag values are strings of 0-256 ASCII letters, digits, spaces or _.:/=+-@, got {value!r}",
            )
        else:
            clean[key] = value
    return clean


def _nova_hyperparameter_shape():
    """The RFT hyperparameter shape from botocore's Bedrock model: ranges straight from the API."""
    import botocore.session  # only synth validates Nova hyperparameters; the CLI imports this module too

    model = botocore.session.get_session().get_service_model("bedrock")
    create = model.operation_model("CreateModelCustomizationJob")
    return create.input_shape.members["customizationConfig"].members["rftConfig"].members["hyperParameters"]


def _nova_hyperparameters(raw: Any, where: str, problems: _Problems) -> dict[str, Any]:
    given = _as_object(raw, where, problems)
    shape = _nova_hyperparameter_shape()
    _reject_unknown(given, set(shape.members), where, problems)
    clean: dict[str, Any] = {}
    for name, member in shape.members.items():
        value, at = _decode(given.get(name)), f"{where}.{name}"
        if value is None:  # absent, or null: the service's default
            continue
        lo, hi = member.metadata.get("min"), member.metadata.get("max")
        span = (
            f" from {lo} to {hi}" if lo is not None and hi is not None else (f" of at least {1 if lo is None else lo}")
        )
        if member.type_name == "integer":
            if isinstance(value, bool) or not isinstance(value, int):
                problems.add(at, f"expected a whole number{span}, got {value!r}")
                continue
            if value < (1 if lo is None else lo) or (hi is not None and value > hi):
                problems.add(at, f"{value} is out of range; allowed{span}")
                continue
        elif member.type_name == "float":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                problems.add(at, f"expected a number{span}, got {value!r}")
                continue
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                problems.add(at, f"{value} is out of range; allowed{span}")
                continue
            value = float(value)
        else:
            allowed = member.enum or []
            if value not in allowed:
                problems.add(at, f"expected one of {', '.join(allowed)}, got {value!r}")
                continue
        clean[name] = value
    return clean


def _mantle_hyperparameters(raw: Any, where: str, problems: _Problems) -> dict[str, Any]:
    given = _as_object(raw, where, problems)
    _reject_unknown(given, set(MANTLE_HYPERPARAMETERS), where, problems)
    clean: dict[str, Any] = {}
    for name, (kind, lo, hi, choices) in MANTLE_HYPERPARAMETERS.items():
        value, at = _decode(given.get(name)), f"{where}.{name}"
        if value is None:  # absent, or null: the service's default
            continue
        if kind is str:
            if value not in choices:
                problems.add(at, f"expected one of {', '.join(choices)}, got {value!r}")
                continue
        else:
            numeric = isinstance(value, int) if kind is int else isinstance(value, (int, float))
            if isinstance(value, bool) or not numeric or not math.isfinite(value):
                problems.add(
                    at, f"expected a {'whole number' if kind is int else 'number'} from {lo} to {hi}, got {value!r}"
                )
                continue
            if not lo <= value <= hi:
                problems.add(at, f"{value} is out of range; allowed {lo} to {hi}")
                continue
            value = kind(value)
        clean[name] = value
    return clean


# The task spec travels in the grader's environment (RFT_TASK), where Lambda allows 4 KB for every
# variable together; the rest of its variables take about 200 bytes.
MAX_TASK_SPEC_BYTES = 3072
_SHARED_KEYS = {"task", "dataset", "grader", "alarms", "launchJob", "tags", "notificationEmails", "trackerPollMinutes"}
_GRADER_KEYS = {"memoryMb", "timeoutSeconds", "logRetentionDays", "reservedConcurrency"}
_DATASET_KEYS = {"directory", "training", "validation"}


def _same_task(spec: Any, name: str | None) -> bool:
    """Whether a task object names the task ``name`` (or no task: then it only sets options)."""
    if not isinstance(spec, Mapping) or name is None:
        return False
    given = spec.get(NAME_KEY)
    return given is None or (isinstance(given, str) and module_name(given.strip()) == module_name(name))


def _task(raw: Any, where: str, problems: _Problems, base: Task | None = None) -> Task | None:
    """The configured task, loaded (its module imported, its options checked against its schema). A
    variant's object for the app's task (or without a name) sets options over the app's."""
    value = _decode(raw)
    if base is not None and _same_task(value, base.name):
        value = merge_objects(base.spec, value)
    try:
        task = load_task(value)
    except TaskError as error:
        for problem in error.problems:
            problems.add(where, problem)
        return None
    size = len(task.spec_json().encode("utf-8"))
    if size > MAX_TASK_SPEC_BYTES:
        problems.add(where, f"the task and its options are {size} bytes as JSON; the grader's environment "
                            f"holds at most {MAX_TASK_SPEC_BYTES} (Lambda allows 4 KB for all its variables): "
                            "move large values (a JSON Schema, a rubric) into the records or a rubric file")
        return None
    return task


def _dataset_settings(raw: Any, where: str, problems: _Problems, base: Mapping[str, Any]) -> dict[str, Any]:
    """The dataset fields set so far (a variant's laid over the app's); the rest follow the task."""
    obj = _as_object(raw, where, problems)
    _reject_unknown(obj, _DATASET_KEYS, where, problems)
    return {**base, **{key: (value, where) for key, value in obj.items() if key in _DATASET_KEYS}}


def _dataset(settings: Mapping[str, Any], task_name: str, problems: _Problems) -> DatasetConfig:
    """Where the stack's prompts are: what was set, else the task's own training-data/<task>/ files."""
    directory = TASK_DATA_DIRECTORY / task_name
    if "directory" in settings:
        raw, where = settings["directory"]
        text = _string(raw, f"{where}.directory", problems, None)
        if text is not None:
            candidate = Path(text)
            directory = candidate if candidate.is_absolute() else PROJECT_ROOT / candidate
    name_ok = lambda s: bool(_DATASET_FILE.match(s))  # noqa: E731 - a one-line predicate
    what = "a .jsonl file name (letters, digits, . _ -)"
    training = TASK_TRAINING_FILE
    if "training" in settings:
        raw, where = settings["training"]
        training = _string(_decode(raw), f"{where}.training", problems, TASK_TRAINING_FILE, name_ok, what) or ""
    validation: str | None = TASK_VALIDATION_FILE
    if "validation" in settings:
        # An empty string or null switches validation data off for this stack.
        raw, where = settings["validation"]
        raw_validation = _decode(raw)
        validation = (
            None
            if raw_validation in (None, "")
            else _string(raw_validation, f"{where}.validation", problems, None, name_ok, what)
        )
    config = DatasetConfig(directory, training, validation)
    for label, path in (("training", config.training_path), ("validation", config.validation_path)):
        if path is not None and training and task_name and not path.is_file():
            where = settings[label][1] if label in settings else f"{CONTEXT_PREFIX}dataset"
            file_name = TASK_TRAINING_FILE if label == "training" else TASK_VALIDATION_FILE
            own = TASK_DATA_DIRECTORY / task_name / file_name
            hint = (f"; the {task_name} task's own is {own.relative_to(PROJECT_ROOT)} (each task keeps its dataset in "
                    "training-data/<task>/ since tasks arrived): drop rft:dataset to use it"
                    if own.is_file() and own != path else f" (the {task_name} task's dataset)")
            problems.add(f"{where}.{label}", f"file not found: {path}{hint}")
    return config


def _grader(raw: Any, where: str, problems: _Problems, base: GraderConfig | None) -> GraderConfig:
    obj = _as_object(raw, where, problems)
    _reject_unknown(obj, _GRADER_KEYS, where, problems)
    base = base or GraderConfig(memory_mb=None, timeout_seconds=None, log_retention_days=30)
    retention = _int(
        obj.get("logRetentionDays"), f"{where}.logRetentionDays", problems, base.log_retention_days, 1, 3653
    )
    if retention not in LOG_RETENTION_DAYS:
        problems.add(
            f"{where}.logRetentionDays",
            f"{retention} is not a CloudWatch Logs retention; allowed: {', '.join(map(str, LOG_RETENTION_DAYS))}",
        )
    return GraderConfig(
        memory_mb=None
        if _decode(obj.get("memoryMb")) is None and base.memory_mb is None
        else _int(obj.get("memoryMb"), f"{where}.memoryMb", problems, base.memory_mb or 512, 128, 10240),
        # Unset: the task's own need (60 s for most; a judge or test runs need minutes).
        timeout_seconds=None
        if _decode(obj.get("timeoutSeconds")) is None and base.timeout_seconds is None
        else _int(obj.get("timeoutSeconds"), f"{where}.timeoutSeconds", problems, base.timeout_seconds or 60, 1, 900),
        log_retention_days=retention,
        **_concurrency(obj, where, problems, base),
    )


def _concurrency(obj: Mapping[str, Any], where: str, problems: _Problems, base: GraderConfig) -> dict[str, Any]:
    """The grader's reserved concurrency: set here, else inherited; null is the default (none)."""
    reserved = base.reserved_concurrency
    if "reservedConcurrency" in obj:
        raw = obj["reservedConcurrency"]
        # 0 comes back only with a reported problem.
        reserved = (None if _decode(raw) is None
                    else _int(raw, f"{where}.reservedConcurrency", problems, 0, 1, MAX_CONCURRENCY) or None)
    return {"reserved_concurrency": reserved}


_ALARM_KEYS = {"enabled", "periodMinutes", "evaluationPeriods", "graderErrors", "graderThrottles",
               "graderDurationShare", "malformedShare"}


def _share(raw: Any, where: str, problems: _Problems, default: float, lo: float) -> float:
    """A share from lo to 1 (0.8 = 80%)."""
    value = _decode(raw)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        problems.add(where, f"expected a number from {lo} to 1 (a share: 0.8 is 80%), got {value!r}")
        return default
    if not lo <= value <= 1:
        problems.add(where, f"{value} is out of range; allowed {lo} to 1 (a share: 0.8 is 80%)")
        return default
    return float(value)


def _alarms(raw: Any, where: str, problems: _Problems, base: AlarmsConfig | None) -> AlarmsConfig:
    """rft:alarms (or a variant's own, laid over the app's): each field set here, else inherited."""
    obj = _as_object(raw, where, problems)
    _reject_unknown(obj, _ALARM_KEYS, where, problems)
    base = base or AlarmsConfig()
    default = AlarmsConfig()  # what a null puts back

    def whole(name: str, attr: str, lo: int, hi: int) -> int:
        if name not in obj:
            return int(getattr(base, attr))
        return _int(obj[name], f"{where}.{name}", problems, getattr(default, attr), lo, hi)

    def share(name: str, attr: str, lo: float) -> float:
        if name not in obj:
            return float(getattr(base, attr))
        return _share(obj[name], f"{where}.{name}", problems, getattr(default, attr), lo)

    return AlarmsConfig(
        enabled=_bool(obj.get("enabled"), f"{where}.enabled", problems, default.enabled)
        if "enabled" in obj else base.enabled,
        # At most 60 minutes x 24 periods: CloudWatch evaluates an alarm over at most a day.
        period_minutes=whole("periodMinutes", "period_minutes", 1, 60),
        evaluation_periods=whole("evaluationPeriods", "evaluation_periods", 1, 24),
        grader_errors=whole("graderErrors", "grader_errors", 1, 1_000_000),
        grader_throttles=whole("graderThrottles", "grader_throttles", 1, 1_000_000),
        # Below a tenth of the timeout every healthy grader would alarm.
        grader_duration_share=share("graderDurationShare", "grader_duration_share", 0.1),
        malformed_share=share("malformedShare", "malformed_share", 0.01),
    )


def _emails(raw: Any, where: str, problems: _Problems) -> tuple[str, ...]:
    value = _decode(raw)
    if value is None:
        return ()
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list):
        problems.add(where, f"expected a list of e-mail addresses, got {value!r}")
        return ()
    for address in value:
        if not isinstance(address, str) or not _EMAIL.match(address):
            problems.add(where, f"not an e-mail address: {address!r}")
    return tuple(a for a in value if isinstance(a, str) and _EMAIL.match(a))


@dataclass(frozen=True)
class _Shared:
    task: Task | None
    dataset_settings: dict[str, Any]
    dataset: DatasetConfig
    grader: GraderConfig
    alarms: AlarmsConfig
    launch_job: bool
    tags: dict[str, str]
    emails: tuple[str, ...]
    poll_minutes: int

    def stack_fields(self, app_prefix: str) -> dict[str, Any]:
        """The StackConfig fields every variant takes from these settings."""
        return {"task": self.task, "dataset": self.dataset, "grader": self.grader, "alarms": self.alarms,
                "launch_job": self.launch_job,
                "tags": self.tags,
                "notification_emails": self.emails, "tracker_poll_minutes": self.poll_minutes,
                "app_prefix": app_prefix}


def _shared(ctx: Mapping[str, Any], where: str, problems: _Problems, base: _Shared | None) -> _Shared:
    """Settings that are app-wide and can be overridden per variant (or per mantle model)."""
    key = (lambda name: f"{CONTEXT_PREFIX}{name}") if base is None else (lambda name: f"{where}.{name}")
    task = (_task(ctx.get("task"), key("task"), problems, base.task if base else None)
            if base is None or "task" in ctx else base.task)
    dataset_settings = (
        _dataset_settings(ctx.get("dataset"), key("dataset"), problems, base.dataset_settings if base else {})
        if base is None or "dataset" in ctx
        else base.dataset_settings
    )
    # Resolved again where the task or the dataset changes: a variant's own task brings its own data.
    dataset = (
        _dataset(dataset_settings, task.name if task else "", problems)
        if base is None or "dataset" in ctx or "task" in ctx
        else base.dataset
    )
    grader = (
        _grader(ctx.get("grader"), key("grader"), problems, base.grader if base else None)
        if base is None or "grader" in ctx
        else base.grader
    )
    alarms = (
        _alarms(ctx.get("alarms"), key("alarms"), problems, base.alarms if base else None)
        if base is None or "alarms" in ctx
        else base.alarms
    )
    tags = {**(base.tags if base else {}), **_tags(ctx.get("tags"), key("tags"), problems)}
    if len(tags) > MAX_TAGS and (base is None or "tags" in ctx):
        problems.add(key("tags"), f"{len(tags)} tags; at most {MAX_TAGS} are allowed")
    emails = (
        _emails(ctx["notificationEmails"], key("notificationEmails"), problems)
        if "notificationEmails" in ctx
        else (base.emails if base else ())
    )
    return _Shared(
        task=task,
        dataset_settings=dataset_settings,
        dataset=dataset,
        grader=grader,
        alarms=alarms,
        launch_job=_bool(ctx.get("launchJob"), key("launchJob"), problems, base.launch_job if base else True),
        tags=tags,
        emails=emails,
        poll_minutes=_int(
            ctx.get("trackerPollMinutes"), key("trackerPollMinutes"), problems, base.poll_minutes if base else 5, 1, 60
        ),
    )


# The top-level rft: keys. Object-valued ones merge -c over cdk.json and take dotted sub-keys.
OBJECT_KEYS = ("task", "tags", "dataset", "grader", "alarms", "nova", "mantle")
_MISTYPED_PREFIX = re.compile(r"^rft[:._-]", re.IGNORECASE)
VALUE_KEYS = ("appPrefix", "launchJob", "notificationEmails", "trackerPollMinutes")
KNOWN_KEYS = VALUE_KEYS + OBJECT_KEYS


def merge_objects(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """`override` laid over `base`, key by key, nested objects merged the same way."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_objects(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _dotted_path(top: str, rest: str, settings: Mapping[str, Any]) -> list[str]:
    """`hyperParameters.epochCount` -> ["hyperParameters", "epochCount"]; model ids keep their dots.

    Under `modelOverrides` the next part is a model id, which has dots of its own
    (`openai.gpt-oss-20b`): the longest run of parts that names a known model (or an existing
    override) is taken as one key.
    """
    parts = rest.split(".")
    path: list[str] = []
    node: Any = settings.get(top)
    index = 0
    while index < len(parts):
        if path and path[-1] == "modelOverrides":
            existing = set(node) if isinstance(node, Mapping) else set()
            for end in range(len(parts), index, -1):
                candidate = ".".join(parts[index:end])
                if rft_model(candidate) is not None or candidate in existing:
                    break
            else:
                end = index + 1
            key = ".".join(parts[index:end])
            index = end
        else:
            key = parts[index]
            index += 1
        path.append(key)
        node = node.get(key) if isinstance(node, Mapping) else None
    return path


def _task_object(value: Any) -> Any:
    """A task named by a string, as the object form (so options can be merged and dotted in)."""
    return {NAME_KEY: value} if isinstance(value, str) else value


def resolve_context(
    context: Mapping[str, Any], project_context: Mapping[str, Any] | None, problems: _Problems
) -> dict[str, Any]:
    """The rft: settings by name (without the prefix), as the app should see them.

    `context` is everything CDK hands the app (cdk.json, cdk.context.json, `-c`); the CLI lets a
    `-c` object replace the cdk.json object of the same key, so `project_context` (cdk.json's own
    context) is merged back under it. Dotted keys are applied last; unknown keys are problems.
    """
    project = project_context or {}
    settings: dict[str, Any] = {}
    dotted: list[tuple[str, str, Any]] = []
    for key in sorted(context):
        # `-c RFT:launchJob=false` or `-c rft.launchJob=false` is meant for us too: never ignore it.
        if not key.startswith(CONTEXT_PREFIX) and _MISTYPED_PREFIX.match(key):
            problems.add(
                key,
                f"context keys of this app start with {CONTEXT_PREFIX!r} exactly; did you mean "
                f"{CONTEXT_PREFIX}{_MISTYPED_PREFIX.sub('', key)}?",
            )
    for full_key in sorted(key for key in context if key.startswith(CONTEXT_PREFIX)):
        name = full_key[len(CONTEXT_PREFIX) :]
        top, dot, rest = name.partition(".")
        if top not in KNOWN_KEYS:
            guess = nearest(top, KNOWN_KEYS)
            hint = f"did you mean {CONTEXT_PREFIX}{guess}{dot}{rest}? " if guess else ""
            problems.add(
                full_key, f"unknown context key; {hint}known keys: {', '.join(CONTEXT_PREFIX + k for k in KNOWN_KEYS)}"
            )
            continue
        if dot:
            if top not in OBJECT_KEYS or not rest or "" in rest.split("."):
                problems.add(
                    full_key,
                    f"{CONTEXT_PREFIX}{top} takes one value; only "
                    f"{', '.join(CONTEXT_PREFIX + k for k in OBJECT_KEYS)} take dotted sub-keys",
                )
                continue
            dotted.append((full_key, top, context[full_key]))
            continue
        value = _decode(context[full_key])
        base = _decode(project.get(full_key))
        if top == "task":
            value, base = _task_object(value), _task_object(base)
            if isinstance(value, Mapping) and isinstance(base, Mapping) and not _same_task(value, base.get(NAME_KEY)):
                base = None  # another task: it starts from its own defaults
        if top in OBJECT_KEYS and isinstance(value, Mapping) and isinstance(base, Mapping):
            value = merge_objects(base, value)
        # A copy: dotted keys are applied to it below, and the caller's context must stay as it was given.
        settings[top] = copy.deepcopy(value)

    for full_key, top, raw in dotted:
        if settings.get(top) is None:
            settings[top] = {}
        node = settings[top]
        if not isinstance(node, dict):
            continue  # the object itself is invalid; building the stacks reports it
        path = _dotted_path(top, full_key[len(CONTEXT_PREFIX) + len(top) + 1 :], settings)
        for key in path[:-1]:
            child = node.get(key)
            if child is None:
                child = node[key] = {}
            if not isinstance(child, dict):
                problems.add(full_key, f"{key} is not an object here, so it has no sub-key {path[-1]}")
                break
            node = child
        else:
            # A tag value stays the text given: -c rft:tags.build=123 is the tag "123".
            value = raw if path[-2:-1] == ["tags"] or (top == "tags" and len(path) == 1) else _decode(raw)
            leaf = node.get(path[-1])
            node[path[-1]] = (
                merge_objects(leaf, value) if isinstance(leaf, Mapping) and isinstance(value, Mapping) else value
            )
    return settings


def build_config(
    context: Mapping[str, Any], *, account: str | None = None, project_context: Mapping[str, Any] | None = None
) -> AppConfig:
    """Build the configuration from the app's whole context (`app.node.get_all_context()`).

    `project_context` is cdk.json's own context, under which `-c` objects are merged.
    """
    problems = _Problems()
    settings = resolve_context(context, project_context, problems)
    get = settings.get

    # The prefix starts every SSM parameter name, and SSM reserves names starting with aws or ssm.
    app_prefix = _string(
        get("appPrefix"),
        "rft:appPrefix",
        problems,
        "bedrock-rft",
        lambda s: bool(_APP_PREFIX.match(s)) and not s.startswith(("aws", "ssm")),
        "3-32 lowercase letters, digits or hyphens, starting with a letter and not with aws or ssm",
    )
    shared = _shared({name: get(name) for name in _SHARED_KEYS if get(name) is not None}, "rft", problems, None)
    if account is not None and not _ACCOUNT.match(account):
        problems.add("CDK_DEFAULT_ACCOUNT", f"expected a 12-digit account id, got {account!r}")
        account = None

    stacks: list[StackConfig] = []
    nova = _as_object(get("nova"), "rft:nova", problems)
    _reject_unknown(
        nova,
        _SHARED_KEYS
        | {"enabled", "stackName", "baseModel", "hyperParameters", "createModelDeployment", "sendValidationData"},
        "rft:nova",
        problems,
    )
    if _bool(nova.get("enabled"), "rft:nova.enabled", problems, True):
        nova_shared = _shared(nova, "rft:nova", problems, shared)
        base_model = _string(
            nova.get("baseModel"),
            "rft:nova.baseModel",
            problems,
            NOVA_BASE_MODELS[0],
            lambda s: s in NOVA_BASE_MODELS,
            f"one of {', '.join(NOVA_BASE_MODELS)}",
        )
        model = rft_model(base_model or NOVA_BASE_MODELS[0])
        assert model is not None
        stacks.append(
            StackConfig(
                stack_name=_string(
                    nova.get("stackName"),
                    "rft:nova.stackName",
                    problems,
                    model.stack_name,
                    lambda s: bool(_STACK_NAME.match(s)),
                    "a CloudFormation stack name",
                ),
                variant=Variant.NOVA,
                base_model=model.model_id,
                hyperparameters=_nova_hyperparameters(
                    nova.get("hyperParameters"), "rft:nova.hyperParameters", problems
                ),
                **nova_shared.stack_fields(app_prefix),
                create_model_deployment=_bool(
                    nova.get("createModelDeployment"), "rft:nova.createModelDeployment", problems, False
                ),
                send_validation_data=_bool(
                    nova.get("sendValidationData"), "rft:nova.sendValidationData", problems, True
                ),
            )
        )

    mantle = _as_object(get("mantle"), "rft:mantle", problems)
    switches = {"sendValidationFile", "sendMetadata", "pinGraderVersion"}
    _reject_unknown(
        mantle,
        _SHARED_KEYS | switches | {"models", "hyperParameters", "baseUrl", "graderPrincipal", "modelOverrides"},
        "rft:mantle",
        problems,
    )
    models = _decode(mantle.get("models", [MANTLE_BASE_MODELS[0]]))
    if isinstance(models, str):
        models = [m.strip() for m in models.split(",") if m.strip()]
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        problems.add("rft:mantle.models", f"expected a list of model ids, got {models!r}")
        models = []
    if len(set(models)) != len(models):
        problems.add("rft:mantle.models", f"a model is listed twice: {models}")
    base_url = _string(
        mantle.get("baseUrl"),
        "rft:mantle.baseUrl",
        problems,
        None,
        lambda s: s.startswith("https://"),
        "an https:// URL",
    )
    # An empty string drops the grader's resource-based permission (see README, mantle grader).
    principal = (
        ""
        if mantle.get("graderPrincipal", None) == ""
        else _string(
            mantle.get("graderPrincipal"),
            "rft:mantle.graderPrincipal",
            problems,
            "bedrock.amazonaws.com",
            lambda s: bool(re.fullmatch(r"[a-z0-9.-]+\.amazonaws\.com", s)),
            'a service principal such as bedrock.amazonaws.com, or "" for none',
        )
    )
    mantle_shared = _shared(mantle, "rft:mantle", problems, shared)
    overrides = _as_object(mantle.get("modelOverrides"), "rft:mantle.modelOverrides", problems)
    for model_id in sorted(set(overrides) - set(models)):
        problems.add(f"rft:mantle.modelOverrides.{model_id}", "overrides a model that is not in rft:mantle.models")
    for model_id in models:
        model = rft_model(model_id)
        if model is None or model.variant is not Variant.MANTLE:
            problems.add(
                "rft:mantle.models",
                f"{model_id!r} is not an RFT model of the mantle API; allowed: {', '.join(MANTLE_BASE_MODELS)}",
            )
            continue
        where = f"rft:mantle.modelOverrides.{model_id}"
        own = _as_object(overrides.get(model_id), where, problems)
        _reject_unknown(own, _SHARED_KEYS | switches | {"stackName", "hyperParameters"}, where, problems)
        model_shared = _shared(own, where, problems, mantle_shared)
        hyper = {
            **_mantle_hyperparameters(mantle.get("hyperParameters"), "rft:mantle.hyperParameters", problems),
            **_mantle_hyperparameters(own.get("hyperParameters"), f"{where}.hyperParameters", problems),
        }

        def switch(name: str, own: dict[str, Any] = own, where: str = where) -> bool:
            default = _bool(mantle.get(name), f"rft:mantle.{name}", problems, True)
            return _bool(own.get(name), f"{where}.{name}", problems, default) if name in own else default

        pinned = switch("pinGraderVersion")
        stacks.append(
            StackConfig(
                stack_name=_string(
                    own.get("stackName"),
                    f"{where}.stackName",
                    problems,
                    model.stack_name,
                    lambda s: bool(_STACK_NAME.match(s)),
                    "a CloudFormation stack name",
                ),
                variant=Variant.MANTLE,
                base_model=model_id,
                hyperparameters=hyper,
                **model_shared.stack_fields(app_prefix),
                mantle_base_url=base_url,
                grader_principal=principal,
                send_validation_data=switch("sendValidationFile"),
                send_metadata=switch("sendMetadata"),
                pin_grader_version=pinned,
            )
        )

    names = [s.stack_name for s in stacks]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.add("stack names", f"{name!r} is used by more than one stack")
    # The name prefix names the stack's tracker state machine and its jobs, unique per region.
    prefixes = [(s.region, s.name_prefix) for s in {s.stack_name: s for s in stacks}.values()]
    for region, prefix in sorted({p for p in prefixes if prefixes.count(p) > 1}):
        problems.add(
            "stack names",
            f"more than one stack in {region} gets the name prefix {prefix!r} "
            "(lowercased, first 32 characters); make the stack names differ there",
        )
    if not stacks and not problems.items:
        problems.add("rft:nova.enabled / rft:mantle.models", "no stack is configured")
    if problems.items:
        raise ConfigError(list(dict.fromkeys(problems.items)))  # a shared setting is checked per stack too
    return AppConfig(account=account, stacks=tuple(stacks))


def load_project_context(path: Path = PROJECT_ROOT / "cdk.json") -> dict[str, Any]:
    """cdk.json's own context: the base that `-c` objects are merged into."""
    return dict(json.loads(path.read_text(encoding="utf-8-sig")).get("context") or {})
