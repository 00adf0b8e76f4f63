"""Tasks: what the grader scores. One module per task in this folder (docs/tasks.md).

A task is a module named after it (``math-answer`` is ``math_answer.py``); built-in tasks and a
team's own are the same kind of thing. The smallest task is one function::

    def score(answer: str, sample: dict) -> float: ...

``answer`` is the visible answer (the model's reasoning removed, see ``samples.strip_reasoning``)
and ``sample`` the raw sample Bedrock sent (its fields at the top level or under ``metadata``;
``field(sample, name)`` reads both). Everything else is optional:

* ``score`` may return a ``Score`` instead of a float: named metrics, its own pass verdict, a flag;
* ``score_batch(samples: list[ParsedSample], deadline: Deadline) -> list[float | Score]`` scores
  a whole batch at once (a task that calls a model or runs code does its calls in parallel);
* ``OPTIONS``: a JSON Schema (an object's ``properties``, each with its ``default``) of the
  task's options, checked with ``jsonschema`` at synth, by rftctl and when the Lambda starts;
* ``configure(options) -> object``: the scorer for these options (anything with ``score`` or
  ``score_batch``, and optionally ``check_record``); without it the module itself is the scorer;
* ``check_record(record: dict) -> list[str]``: what is wrong with one training record for this
  task (synth and ``rftctl validate`` run it on every line);
* ``DESCRIPTION`` (else the module docstring's first line) and ``PASS_AT`` (the reward from which a
  sample passes, default 1.0);
* ``iam_statements(region=, account=, partition=)``: IAM policy statements (policy JSON) the grader's
  role needs for this task (llm-judge: invoking its judge model); ``GRADER_TIMEOUT_SECONDS`` and
  ``GRADER_MEMORY_MB``: the grader's timeout and memory this task needs when ``rft:grader`` does not
  say (default 60 s and 512 MB);
* ``DATA_FILES``: names of files in this folder the task reads (llm-judge: its rubric), which ship with
  the grader and, with the task's module, the private ``_*.py`` helpers and the grader's own code,
  make its code fingerprint (another task's module is not part of it: adding or editing one never
  restarts a job of this task); ``USES_MODULES``: other task modules it scores with (weighted);
* ``PROMPT_METRIC`` and ``ANSWER_METRIC``: ``(metric name, label)`` of a metric that describes the
  prompt (char-limit: its limit) and one that describes each answer (its length), which rftctl's
  tables show beside the pass mark.

Around every task, written once in the grader: event shapes, ids, malformed samples, reasoning
removal, clamping to [0, 1], metrics, logs and the invocation's deadline. A task that raises costs
the samples it was scoring (scored 0.0 and flagged malformed), never the batch.
"""

from __future__ import annotations

import importlib
import json
import math
import pkgutil
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType, ModuleType
from typing import Any, Final

from lambda_reward.runtime.samples import ParsedSample, sample_field

DEFAULT_TASK: Final = "char-limit"
# The grader Lambda's environment variable naming its task: {"name": ..., <options>} as JSON.
TASK_ENV: Final = "RFT_TASK"
# "true" when the model's chat template opens its reasoning block in the prompt (samples.strip_reasoning).
PROMPT_OPENS_REASONING_ENV: Final = "RFT_PROMPT_OPENS_REASONING"
NAME_KEY: Final = "name"
DEFAULT_PASS_AT: Final = 1.0
# Scoring is microseconds per sample; 60 s leaves room for a cold start and a huge batch, and 512 MB
# (a third of a vCPU) scores thousands of samples well under a second.
DEFAULT_GRADER_TIMEOUT_SECONDS: Final = 60
DEFAULT_GRADER_MEMORY_MB: Final = 512
# Task names: lowercase words joined by hyphens or underscores (both name the same module).
_TASK_NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")


class TaskError(ValueError):
    """A task cannot be loaded or its options are invalid; ``problems`` names each field."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


@dataclass(frozen=True, slots=True)
class Score:
    """One sample's score: the reward (clamped to [0, 1] by the grader) and what explains it.

    ``metrics`` are reported as ``Metric`` entries of the result, by name. ``passed`` is the
    task's verdict (None: the reward reached the task's ``PASS_AT``). ``flag`` names why the
    sample was not truly scored (``no_limit``, ``judge_failed``...): the result carries a metric
    of that name and ``flagged``, and the handler counts it.
    """

    reward: float
    metrics: Mapping[str, float] = field(default_factory=dict)
    passed: bool | None = None
    flag: str | None = None
    # The grader's metrics_list entries for this score, built once: a task that hands out the same
    # Score object for the same outcome (char-limit does) saves building them per sample.
    _entries: Any = field(default=None, init=False, repr=False, compare=False)


class Deadline:
    """What is left of the invocation: tasks that call out stop in time (never past Lambda's timeout)."""

    def __init__(self, seconds: float | None = None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._end = None if seconds is None else clock() + seconds

    @classmethod
    def from_context(cls, context: Any, *, reserve_seconds: float) -> Deadline:
        """The Lambda context's remaining time, less ``reserve_seconds`` for the reply and the logs."""
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        if remaining is None:
            return cls()
        return cls(max(remaining() / 1000.0 - reserve_seconds, 0.0))

    def remaining(self) -> float:
        """Seconds left (``math.inf`` without a deadline, never negative)."""
        return math.inf if self._end is None else max(self._end - self._clock(), 0.0)

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0.0


def field_of(sample: Mapping[str, Any], name: str) -> Any:
    """A field of a raw sample: its top-level value, else its ``metadata``'s (None when absent)."""
    metadata = sample.get("metadata")
    return sample_field(sample, metadata if isinstance(metadata, Mapping) else None, name)


# Scores a batch: one result per sample, in order.
BatchScorer = Callable[[list[ParsedSample], Deadline], Sequence[Any]]


@dataclass(frozen=True)
class Task:
    """A task loaded and configured: what the grader, the dataset check and rftctl call."""

    name: str  # as configured, hyphens normalised: "math-answer"
    options: Mapping[str, Any]  # defaults applied
    description: str
    pass_at: float
    scorer: Any  # the object configure() returned, or the module
    grader_timeout_seconds: int  # what this task needs unless rft:grader.timeoutSeconds says otherwise
    grader_memory_mb: int  # likewise for rft:grader.memoryMb
    modules: frozenset[str]  # the task modules it scores with (its own; weighted's: its parts' too)
    data_files: frozenset[str]  # files of the tasks folder it reads (llm-judge: its rubric)
    prompt_metric: tuple[str, str] | None  # (metric, label) rftctl shows per prompt
    answer_metric: tuple[str, str] | None  # (metric, label) rftctl shows per answer
    _score_batch: BatchScorer
    _check_record: Callable[[dict[str, Any]], list[str]] | None
    _module: ModuleType

    def score_batch(self, samples: list[ParsedSample], deadline: Deadline | None = None) -> Sequence[Any]:
        """One result per sample: a reward, a ``Score``, ``Malformed`` or ``TaskFailure``."""
        return self._score_batch(samples, deadline or Deadline())

    def check_record(self, record: dict[str, Any]) -> list[str]:
        """Problems of one training record for this task ([] when it has no check)."""
        return list(self._check_record(record)) if self._check_record is not None else []

    def iam_statements(self, *, region: str, account: str, partition: str) -> list[dict[str, Any]]:
        """IAM policy statements (plain policy JSON: Effect, Action, Resource, Condition) the grader's
        role needs for this task: none for most; llm-judge's judge model."""
        statements = _attribute(self.scorer, self._module, "iam_statements")
        return list(statements(region=region, account=account, partition=partition)) if statements else []

    @property
    def spec(self) -> dict[str, Any]:
        """``{"name": ..., <options>}``: what configures the grader (its environment, the fingerprint)."""
        return {NAME_KEY: self.name, **self.options}

    def spec_json(self) -> str:
        return canonical_spec_json(self.spec)


def canonical_spec_json(spec: Mapping[str, Any]) -> str:
    return json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def module_name(name: str) -> str:
    """The module of a task name: ``math-answer`` -> ``math_answer``."""
    return name.replace("-", "_")


def task_name(module: str) -> str:
    """The name a task module is configured by: ``math_answer`` -> ``math-answer``."""
    return module.replace("_", "-")


def task_names() -> list[str]:
    """Every task in this folder, by configured name (modules starting with _ are helpers)."""
    return sorted(
        task_name(info.name) for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")
    )


def split_spec(spec: str | Mapping[str, Any] | None) -> tuple[str, dict[str, Any]]:
    """(name, options) of a task spec: a name, or ``{"name": ..., <options>}``; None is the default task."""
    if spec is None:
        return DEFAULT_TASK, {}
    if isinstance(spec, str):
        return spec.strip(), {}
    if not isinstance(spec, Mapping):
        raise TaskError([f"a task is a name or an object with a name, got {type(spec).__name__}"])
    options = dict(spec)
    name = options.pop(NAME_KEY, DEFAULT_TASK)
    if not isinstance(name, str):
        raise TaskError([f"the task object needs a string 'name', got {name!r}"])
    return name.strip(), options


def load_task(spec: str | Mapping[str, Any] | None) -> Task:
    """Import and configure a task; raise TaskError naming what is wrong (unknown task, bad option)."""
    name, options = split_spec(spec)
    return task_from_module(_import_task(name), name, options)


def task_from_module(module: ModuleType, name: str, options: Mapping[str, Any]) -> Task:
    """Configure a task module (``load_task`` imports it from this folder first)."""
    schema = getattr(module, "OPTIONS", None)
    if schema is None:
        if options:
            raise TaskError([f"task {name}: takes no options, got {', '.join(sorted(options))}"])
        configured: dict[str, Any] = {}
    else:
        defaults = defaults_of(schema)
        configured = {**defaults, **options}
        # The defaults are valid by construction (tests/lambda_reward/tasks check each task's), so options
        # that only repeat them (as the grader's environment does) need no jsonschema at cold start.
        # Type-strict: 1 is not true, 0 is not 0.0 here (the spec, and so the fingerprint, keeps the type).
        if any(key not in defaults or type(defaults[key]) is not type(value) or defaults[key] != value
               for key, value in options.items()):
            problems = option_problems(schema, configured)
            if problems:
                raise TaskError([f"task {name}: {problem}" for problem in problems])
    configure = getattr(module, "configure", None)
    scorer = configure(configured) if configure is not None else module
    return Task(
        name=task_name(name),
        options=MappingProxyType(configured),
        description=_description(scorer, module),
        pass_at=float(_attribute(scorer, module, "PASS_AT", DEFAULT_PASS_AT)),
        scorer=scorer,
        grader_timeout_seconds=int(
            _attribute(scorer, module, "GRADER_TIMEOUT_SECONDS", DEFAULT_GRADER_TIMEOUT_SECONDS)
        ),
        grader_memory_mb=int(_attribute(scorer, module, "GRADER_MEMORY_MB", DEFAULT_GRADER_MEMORY_MB)),
        modules=frozenset({module.__name__.rpartition(".")[2], *_attribute(scorer, module, "USES_MODULES", ())}),
        data_files=frozenset(_attribute(scorer, module, "DATA_FILES", ())),
        prompt_metric=_attribute(scorer, module, "PROMPT_METRIC"),
        answer_metric=_attribute(scorer, module, "ANSWER_METRIC"),
        _score_batch=_batch_scorer(scorer, name),
        _check_record=_attribute(scorer, module, "check_record"),
        _module=module,
    )


def defaults_of(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The ``default`` of each top-level property of an options schema."""
    properties = schema.get("properties") or {}
    return {key: prop["default"] for key, prop in properties.items() if isinstance(prop, Mapping) and "default" in prop}


def option_problems(schema: Mapping[str, Any], options: Mapping[str, Any]) -> list[str]:
    """Every way ``options`` break ``schema`` (jsonschema), each naming the option."""
    import jsonschema  # only when options are given: the default task's cold start stays light

    validator = jsonschema.Draft202012Validator(schema)
    problems = []
    for error in sorted(validator.iter_errors(dict(options)), key=lambda e: list(map(str, e.absolute_path))):
        where = ".".join(str(part) for part in error.absolute_path)
        problems.append(f"{where}: {error.message}" if where else error.message)
    return problems


def _import_task(name: str) -> ModuleType:
    if not _TASK_NAME.match(name):
        raise TaskError([f"task {name!r}: a task name is lowercase words joined by - or _ (e.g. math-answer)"])
    module = module_name(name)
    if module.startswith("_") or module not in {module_name(known) for known in task_names()}:
        from difflib import get_close_matches

        known = task_names()
        wanted = task_name(module)
        guess = get_close_matches(wanted, known, n=1) or [k for k in known if k.startswith(wanted)]
        hint = f"did you mean {guess[0]}? " if guess else ""
        raise TaskError([f"unknown task {name!r}; {hint}tasks in lambda_reward/runtime/tasks: {', '.join(known)}"])
    loaded = importlib.import_module(f"{__name__}.{module}")
    if not (callable(getattr(loaded, "score", None)) or callable(getattr(loaded, "score_batch", None))
            or callable(getattr(loaded, "configure", None))):
        raise TaskError([f"task {name}: its module defines neither score(answer, sample) nor score_batch"])
    return loaded


def _attribute(scorer: Any, module: ModuleType, name: str, default: Any = None) -> Any:
    """A task attribute: the configured scorer's, else its module's."""
    return getattr(scorer, name, getattr(module, name, default))


def _description(scorer: Any, module: ModuleType) -> str:
    text = getattr(scorer, "DESCRIPTION", None) or getattr(module, "DESCRIPTION", None) or module.__doc__ or ""
    return text.strip().splitlines()[0] if text.strip() else task_name(module.__name__.rpartition(".")[2])


def _batch_scorer(scorer: Any, name: str) -> BatchScorer:
    batch = getattr(scorer, "score_batch", None)
    if callable(batch):
        return batch  # type: ignore[no-any-return]
    score = getattr(scorer, "score", None)
    if not callable(score):
        raise TaskError([f"task {name}: configure() returned an object without score or score_batch"])
    return _PerSample(score)


class _PerSample:
    """A task's ``score(answer, sample)`` applied to each sample; a raise costs that sample only."""

    def __init__(self, score: Callable[[str, dict[str, Any]], float | Score]) -> None:
        self.score = score

    def __call__(self, samples: list[ParsedSample], deadline: Deadline) -> list[Any]:
        score = self.score
        results: list[Any] = []
        for index, sample in enumerate(samples):
            if deadline.expired:  # a slow task must not take the whole batch past Lambda's timeout
                return results + neutral_scores(samples[index:], samples[:index], results, DEADLINE_FLAG)
            try:
                results.append(score(sample.answer, sample.top_level))
            except Exception as error:  # noqa: BLE001 - a task bug costs one sample
                results.append(TaskFailure(f"{type(error).__name__}: {error}"))
        return results


DEADLINE_FLAG: Final = "deadline"
NEUTRAL_REWARD: Final = 0.5
# The neutralScore option's value for group_mean_rewards (llm-judge, code-tests).
GROUP_MEAN: Final = "group-mean"


def group_mean_rewards(
    samples: Sequence[ParsedSample], scores: Sequence[Any], fixed: float | None = None
) -> Callable[[str], float]:
    """The neutral reward of a sample that could not be scored, by its prompt: ``fixed`` when given, else
    the mean reward of the truly scored samples of the same prompt (plain rewards and unflagged Scores;
    GRPO's advantage is the reward less the group's mean, so such a sample neither helps nor hurts its
    group), else NEUTRAL_REWARD."""
    if fixed is not None:
        return lambda prompt: fixed
    totals: dict[str, list[float]] = {}
    for sample, result in zip(samples, scores, strict=True):
        reward = result.reward if isinstance(result, Score) and result.flag is None else result
        if isinstance(reward, (int, float)) and not isinstance(reward, bool) and math.isfinite(reward):
            total = totals.setdefault(sample.prompt, [0.0, 0.0])
            total[0] += min(max(float(reward), 0.0), 1.0)
            total[1] += 1
    return lambda prompt: totals[prompt][0] / totals[prompt][1] if prompt in totals else NEUTRAL_REWARD


def neutral_scores(
    unscored: list[ParsedSample], scored: list[ParsedSample], scores: Sequence[Any], flag: str
) -> list[Score]:
    """Flagged scores, at their group's mean (``group_mean_rewards``), for samples not scored in time."""
    neutral = group_mean_rewards(scored, scores)
    return [Score(neutral(sample.prompt), flag=flag) for sample in unscored]


@dataclass(frozen=True, slots=True)
class Malformed:
    """In a batch's scores: the sample's data cannot be scored by this task (the grader scores it 0.0,
    flagged malformed, with this reason). A task returns it, e.g., for an invalid reference."""

    reason: str


@dataclass(frozen=True, slots=True)
class TaskFailure:
    """In a batch's scores: the task raised for this sample (the grader scores it 0.0, malformed)."""

    reason: str
