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
- `rft:dataset`        {"directory", "training", "validation"}
- `rft:grader`         {"memoryMb", "timeoutSeconds", "logRetentionDays"}
- `rft:nova`           the Nova 2 Lite stack: {"enabled", "stackName", "baseModel",
                       "hyperParameters", "createModelDeployment", "tags", + any shared key above}
- `rft:mantle`         the open-weight stacks: {"models", "hyperParameters", "baseUrl",
                       "graderPrincipal", "tags", "modelOverrides", + any shared key above}

`-c` values arrive as strings, so a field that wants a number, a boolean, a list or an object
also accepts its JSON text (`-c rft:launchJob=false`, `-c 'rft:mantle={"models": [...]}'`).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Mapping

import botocore.session

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTEXT_PREFIX = "rft:"


class Variant(str, Enum):
    """How the RFT job is run. Each variant is bound to the only region that offers it."""

    NOVA = "nova"
    MANTLE = "mantle"

    @property
    def region(self) -> str:
        return {Variant.NOVA: "us-east-1", Variant.MANTLE: "us-west-2"}[self]


NOVA_BASE_MODELS = ("amazon.nova-2-lite-v1:0:256k",)
MANTLE_BASE_MODELS = ("openai.gpt-oss-20b", "qwen.qwen3-32b")

# Stack names for the known mantle models; another model id gets a name derived from it.
_MANTLE_STACK_NAMES = {
    "openai.gpt-oss-20b": "BedrockRft-GptOss20b",
    "qwen.qwen3-32b": "BedrockRft-Qwen3-32b",
}

# Documented OpenAI reinforcement fine-tuning hyperparameters. Which of them Bedrock's mantle
# API honours beyond n_epochs, batch_size and learning_rate_multiplier is UNCONFIRMED (see the
# reference, section 1); an unknown key is rejected rather than silently sent to a paid job.
MANTLE_HYPERPARAMETERS: dict[str, tuple[type, float | None, float | None, tuple[str, ...]]] = {
    # name: (type, minimum, maximum, allowed strings)
    "n_epochs": (int, 1, 50, ()),
    "batch_size": (int, 1, 512, ()),
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
# Set by the app itself: the stacks' discovery tags and the job's stack tag.
# Stack tags every stack carries (the operator CLI finds stacks by them) and the job's own tag.
APP_TAG = "rft:app"
VARIANT_TAG = "rft:variant"
STACK_TAG = "rft:stack"
RESERVED_TAG_KEYS = (APP_TAG, VARIANT_TAG, STACK_TAG)
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


@dataclass(frozen=True)
class GraderConfig:
    memory_mb: int
    timeout_seconds: int
    log_retention_days: int


@dataclass(frozen=True)
class StackConfig:
    """Everything one variant stack needs, already validated."""

    stack_name: str
    variant: Variant
    base_model: str
    hyperparameters: Mapping[str, Any]
    dataset: DatasetConfig
    grader: GraderConfig
    launch_job: bool
    tags: Mapping[str, str]
    notification_emails: tuple[str, ...]
    tracker_poll_minutes: int
    app_prefix: str
    create_model_deployment: bool = False
    mantle_base_url: str | None = None
    grader_principal: str = "bedrock.amazonaws.com"

    @property
    def region(self) -> str:
        return self.variant.region

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


def _reject_unknown(obj: Mapping[str, Any], allowed: set[str], where: str, problems: _Problems) -> None:
    for key in sorted(set(obj) - allowed):
        problems.add(f"{where}.{key}", f"unknown setting; allowed: {', '.join(sorted(allowed))}")


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
            problems.add(f"{where}.{key}", f"tag values are strings of 0-256 ASCII letters, digits, spaces or _.:/=+-@, "
                                           f"got {value!r}")
        else:
            clean[key] = value
    return clean


def _nova_hyperparameter_shape():
    """The RFT hyperparameter shape from botocore's Bedrock model: ranges straight from the API."""
    model = botocore.session.get_session().get_service_model("bedrock")
    create = model.operation_model("CreateModelCustomizationJob")
    return create.input_shape.members["customizationConfig"].members["rftConfig"].members["hyperParameters"]


def _nova_hyperparameters(raw: Any, where: str, problems: _Problems) -> dict[str, Any]:
    given = _as_object(raw, where, problems)
    shape = _nova_hyperparameter_shape()
    _reject_unknown(given, set(shape.members), where, problems)
    clean: dict[str, Any] = {}
    for name, member in shape.members.items():
        if name not in given:
            continue
        value, at = _decode(given[name]), f"{where}.{name}"
        lo, hi = member.metadata.get("min"), member.metadata.get("max")
        span = f" from {lo} to {hi}" if lo is not None and hi is not None else (f" of at least {1 if lo is None else lo}")
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
        if name not in given:
            continue
        value, at = _decode(given[name]), f"{where}.{name}"
        if kind is str:
            if value not in choices:
                problems.add(at, f"expected one of {', '.join(choices)}, got {value!r}")
                continue
        else:
            numeric = isinstance(value, int) if kind is int else isinstance(value, (int, float))
            if isinstance(value, bool) or not numeric or not math.isfinite(value):
                problems.add(at, f"expected a {'whole number' if kind is int else 'number'} from {lo} to {hi}, got {value!r}")
                continue
            if not lo <= value <= hi:
                problems.add(at, f"{value} is out of range; allowed {lo} to {hi}")
                continue
            value = kind(value)
        clean[name] = value
    return clean


_SHARED_KEYS = {"dataset", "grader", "launchJob", "tags", "notificationEmails", "trackerPollMinutes"}


def _dataset(raw: Any, where: str, problems: _Problems, base: DatasetConfig | None) -> DatasetConfig:
    obj = _as_object(raw, where, problems)
    _reject_unknown(obj, {"directory", "training", "validation"}, where, problems)
    directory = base.directory if base else PROJECT_ROOT / "training-data"
    if "directory" in obj:
        text = _string(obj["directory"], f"{where}.directory", problems, None)
        if text is not None:
            candidate = Path(text)
            directory = candidate if candidate.is_absolute() else PROJECT_ROOT / candidate
    name_ok = lambda s: bool(_DATASET_FILE.match(s))  # noqa: E731 - a one-line predicate
    what = "a .jsonl file name (letters, digits, . _ -)"
    training = _string(obj.get("training"), f"{where}.training", problems,
                       base.training_file if base else "char-limit-training.jsonl", name_ok, what) or ""
    validation = base.validation_file if base else "char-limit-validation.jsonl"
    if "validation" in obj:
        # An empty string or null switches validation data off for this stack.
        raw_validation = _decode(obj["validation"])
        validation = None if raw_validation in (None, "") else _string(
            raw_validation, f"{where}.validation", problems, None, name_ok, what)
    config = DatasetConfig(directory, training, validation)
    for label, path in (("training", config.training_path), ("validation", config.validation_path)):
        if path is not None and training and not path.is_file():
            problems.add(f"{where}.{label}", f"file not found: {path}")
    return config


def _grader(raw: Any, where: str, problems: _Problems, base: GraderConfig | None) -> GraderConfig:
    obj = _as_object(raw, where, problems)
    _reject_unknown(obj, {"memoryMb", "timeoutSeconds", "logRetentionDays"}, where, problems)
    base = base or GraderConfig(memory_mb=512, timeout_seconds=60, log_retention_days=30)
    retention = _int(obj.get("logRetentionDays"), f"{where}.logRetentionDays", problems,
                     base.log_retention_days, 1, 3653)
    if retention not in LOG_RETENTION_DAYS:
        problems.add(f"{where}.logRetentionDays",
                     f"{retention} is not a CloudWatch Logs retention; allowed: {', '.join(map(str, LOG_RETENTION_DAYS))}")
    return GraderConfig(
        memory_mb=_int(obj.get("memoryMb"), f"{where}.memoryMb", problems, base.memory_mb, 128, 10240),
        timeout_seconds=_int(obj.get("timeoutSeconds"), f"{where}.timeoutSeconds", problems,
                             base.timeout_seconds, 1, 900),
        log_retention_days=retention,
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
    dataset: DatasetConfig
    grader: GraderConfig
    launch_job: bool
    tags: dict[str, str]
    emails: tuple[str, ...]
    poll_minutes: int


def _shared(ctx: Mapping[str, Any], where: str, problems: _Problems, base: _Shared | None) -> _Shared:
    """Settings that are app-wide and can be overridden per variant (or per mantle model)."""
    key = (lambda name: f"{CONTEXT_PREFIX}{name}") if base is None else (lambda name: f"{where}.{name}")
    dataset = _dataset(ctx.get("dataset"), key("dataset"), problems, base.dataset if base else None) \
        if base is None or "dataset" in ctx else base.dataset
    grader = _grader(ctx.get("grader"), key("grader"), problems, base.grader if base else None) \
        if base is None or "grader" in ctx else base.grader
    tags = {**(base.tags if base else {}), **_tags(ctx.get("tags"), key("tags"), problems)}
    if len(tags) > MAX_TAGS and (base is None or "tags" in ctx):
        problems.add(key("tags"), f"{len(tags)} tags; at most {MAX_TAGS} are allowed")
    emails = _emails(ctx["notificationEmails"], key("notificationEmails"), problems) \
        if "notificationEmails" in ctx else (base.emails if base else ())
    return _Shared(
        dataset=dataset,
        grader=grader,
        launch_job=_bool(ctx.get("launchJob"), key("launchJob"), problems, base.launch_job if base else True),
        tags=tags,
        emails=emails,
        poll_minutes=_int(ctx.get("trackerPollMinutes"), key("trackerPollMinutes"), problems,
                          base.poll_minutes if base else 5, 1, 60),
    )


def _mantle_stack_name(model: str) -> str:
    if model in _MANTLE_STACK_NAMES:
        return _MANTLE_STACK_NAMES[model]
    words = re.split(r"[^A-Za-z0-9]+", model.split(".", 1)[-1])
    return "BedrockRft-" + "".join(w[:1].upper() + w[1:] for w in words if w)


def build_config(context: Callable[[str], Any], account: str | None = None) -> AppConfig:
    """Build the configuration from a context lookup (e.g. `app.node.try_get_context`)."""
    problems = _Problems()
    get = lambda name: context(CONTEXT_PREFIX + name)  # noqa: E731

    # The prefix starts every SSM parameter name, and SSM reserves names starting with aws or ssm.
    app_prefix = _string(get("appPrefix"), "rft:appPrefix", problems, "bedrock-rft",
                         lambda s: bool(_APP_PREFIX.match(s)) and not s.startswith(("aws", "ssm")),
                         "3-32 lowercase letters, digits or hyphens, starting with a letter and not with aws or ssm")
    shared = _shared({name: get(name) for name in _SHARED_KEYS if get(name) is not None},
                     "rft", problems, None)
    if account is not None and not _ACCOUNT.match(account):
        problems.add("CDK_DEFAULT_ACCOUNT", f"expected a 12-digit account id, got {account!r}")
        account = None

    stacks: list[StackConfig] = []
    nova = _as_object(get("nova"), "rft:nova", problems)
    _reject_unknown(nova, _SHARED_KEYS | {"enabled", "stackName", "baseModel", "hyperParameters",
                                          "createModelDeployment"}, "rft:nova", problems)
    if _bool(nova.get("enabled"), "rft:nova.enabled", problems, True):
        nova_shared = _shared(nova, "rft:nova", problems, shared)
        stacks.append(StackConfig(
            stack_name=_string(nova.get("stackName"), "rft:nova.stackName", problems, "BedrockRft-Nova2Lite",
                               lambda s: bool(_STACK_NAME.match(s)), "a CloudFormation stack name"),
            variant=Variant.NOVA,
            base_model=_string(nova.get("baseModel"), "rft:nova.baseModel", problems, NOVA_BASE_MODELS[0],
                               lambda s: s in NOVA_BASE_MODELS, f"one of {', '.join(NOVA_BASE_MODELS)}"),
            hyperparameters=_nova_hyperparameters(nova.get("hyperParameters"), "rft:nova.hyperParameters", problems),
            dataset=nova_shared.dataset,
            grader=nova_shared.grader,
            launch_job=nova_shared.launch_job,
            tags=nova_shared.tags,
            notification_emails=nova_shared.emails,
            tracker_poll_minutes=nova_shared.poll_minutes,
            app_prefix=app_prefix,
            create_model_deployment=_bool(nova.get("createModelDeployment"), "rft:nova.createModelDeployment",
                                          problems, False),
        ))

    mantle = _as_object(get("mantle"), "rft:mantle", problems)
    _reject_unknown(mantle, _SHARED_KEYS | {"models", "hyperParameters", "baseUrl", "graderPrincipal",
                                            "modelOverrides"}, "rft:mantle", problems)
    models = _decode(mantle.get("models", [MANTLE_BASE_MODELS[0]]))
    if isinstance(models, str):
        models = [m.strip() for m in models.split(",") if m.strip()]
    if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
        problems.add("rft:mantle.models", f"expected a list of model ids, got {models!r}")
        models = []
    if len(set(models)) != len(models):
        problems.add("rft:mantle.models", f"a model is listed twice: {models}")
    base_url = _string(mantle.get("baseUrl"), "rft:mantle.baseUrl", problems, None,
                       lambda s: s.startswith("https://"), "an https:// URL")
    # An empty string drops the grader's resource-based permission (see README, mantle grader).
    principal = "" if mantle.get("graderPrincipal", None) == "" else _string(
        mantle.get("graderPrincipal"), "rft:mantle.graderPrincipal", problems, "bedrock.amazonaws.com",
        lambda s: bool(re.fullmatch(r"[a-z0-9.-]+\.amazonaws\.com", s)),
        "a service principal such as bedrock.amazonaws.com, or \"\" for none")
    mantle_shared = _shared(mantle, "rft:mantle", problems, shared)
    overrides = _as_object(mantle.get("modelOverrides"), "rft:mantle.modelOverrides", problems)
    for model in sorted(set(overrides) - set(models)):
        problems.add(f"rft:mantle.modelOverrides.{model}", "overrides a model that is not in rft:mantle.models")
    for model in models:
        if model not in MANTLE_BASE_MODELS:
            problems.add("rft:mantle.models", f"{model!r} is not an RFT model of the mantle API; "
                                              f"allowed: {', '.join(MANTLE_BASE_MODELS)}")
            continue
        where = f"rft:mantle.modelOverrides.{model}"
        own = _as_object(overrides.get(model), where, problems)
        _reject_unknown(own, _SHARED_KEYS | {"stackName", "hyperParameters"}, where, problems)
        model_shared = _shared(own, where, problems, mantle_shared)
        hyper = {**_mantle_hyperparameters(mantle.get("hyperParameters"), "rft:mantle.hyperParameters", problems),
                 **_mantle_hyperparameters(own.get("hyperParameters"), f"{where}.hyperParameters", problems)}
        stacks.append(StackConfig(
            stack_name=_string(own.get("stackName"), f"{where}.stackName", problems, _mantle_stack_name(model),
                               lambda s: bool(_STACK_NAME.match(s)), "a CloudFormation stack name"),
            variant=Variant.MANTLE,
            base_model=model,
            hyperparameters=hyper,
            dataset=model_shared.dataset,
            grader=model_shared.grader,
            launch_job=model_shared.launch_job,
            tags=model_shared.tags,
            notification_emails=model_shared.emails,
            tracker_poll_minutes=model_shared.poll_minutes,
            app_prefix=app_prefix,
            mantle_base_url=base_url,
            grader_principal=principal,
        ))

    names = [s.stack_name for s in stacks]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.add("stack names", f"{name!r} is used by more than one stack")
    # The name prefix names the stack's tracker state machine and its jobs, unique per region.
    prefixes = [(s.region, s.name_prefix) for s in {s.stack_name: s for s in stacks}.values()]
    for region, prefix in sorted({p for p in prefixes if prefixes.count(p) > 1}):
        problems.add("stack names", f"more than one stack in {region} gets the name prefix {prefix!r} "
                                    "(lowercased, first 32 characters); make the stack names differ there")
    if not stacks and not problems.items:
        problems.add("rft:nova.enabled / rft:mantle.models", "no stack is configured")
    if problems.items:
        raise ConfigError(problems.items)
    return AppConfig(account=account, stacks=tuple(stacks))
