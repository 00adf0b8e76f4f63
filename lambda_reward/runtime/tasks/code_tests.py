"""Python extracted from the answer, run against the record's stdin/stdout test cases; reward = share passed.

The record's ``test_cases`` is a list of ``{"input": str, "output": str}`` objects, read where AWS's
Codeforces sample (aws-samples/amazon-bedrock-samples, reward-functions/codeforces_rew_func.py and
the Nemotron notebook that writes its data) puts it: the sample's ``test_cases`` (top level, else
``metadata``), else ``reference_answer.test_cases``, else ``metadata.metadata.test_cases`` (a
record written with a ``metadata`` object, should Bedrock pass the record's extra fields under
``metadata``). Null counts as absent; the first one found is used.

The program is the last fenced block tagged ``python`` / ``py`` / ``python3`` / ``py3`` in the
visible answer (reasoning removed), else the last untagged fenced block (blocks tagged another
language, such as an example's output in ```text, are never run); an answer with neither scores
0.0 (``no_code``) unless ``codeWithoutFence`` runs the whole answer. Each test runs the program in
its own subprocess (``_sandbox``: empty environment, limits, its own temporary directory, its
process group killed afterwards) with the test's input on stdin; it passes when the program exits
0 within the time limit and its stdout matches the expected output (``compare``: ``lines``
ignores trailing whitespace on each line and trailing blank lines; ``tokens`` compares
whitespace-separated tokens; ``exact`` compares bytes). Reward: tests passed / tests.

Runs of the whole batch share one thread pool (``workers``); a program and input seen twice in a
batch (the identical answers of a GRPO group) run once. No run outlives the invocation: each gets
at most what is left before the deadline. A sample some of whose tests did not run (the deadline
came first: ``deadline``; the grader could not start them or the sandbox is not safe here:
``sandbox_error``) is not blamed for it: it gets the neutral reward (``neutralScore``), by default
the mean reward of the fully scored samples of its prompt in the batch (so it carries no advantage
in its GRPO group), else 0.5, kept between what the tests that did run prove it earned (the others
failed) and what it could have earned (the others passed). A sample whose own tests all ran is
scored as usual whatever happened to the others.

Programs run only where the seccomp filter of ``_sandbox`` installs (checked once per process by a
trivial run); elsewhere every sample with a program is flagged ``sandbox_error``, with a log line
saying why, unless ``allowWithoutSeccomp``.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

from lambda_reward.runtime.samples import ParsedSample, describe_value
from lambda_reward.runtime.tasks import GROUP_MEAN, Deadline, Malformed, Score, group_mean_rewards
from lambda_reward.runtime.tasks._sandbox import (
    Limits,
    Status,
    bootstrap_source,
    harden_parent,
    probe_sandbox,
    run_python,
)

_LOG = logging.getLogger(__name__)

DESCRIPTION: Final = "Python from the answer run on the record's stdin/stdout test cases; reward = share passed"

TEST_CASES_FIELD: Final = "test_cases"
REFERENCE_ANSWER_FIELD: Final = "reference_answer"
METADATA_FIELD: Final = "metadata"
INPUT_KEY: Final = "input"
OUTPUT_KEY: Final = "output"
# More tests than this in one record is a data bug (or a batch-sized cost): the sample is malformed.
MAX_TEST_CASES: Final = 100
# Problems reported per record before the rest are summarised.
MAX_PROBLEMS_PER_FIELD: Final = 5


class Metric:
    """Names of this task's metrics_list entries (counts of the sample's tests, every one always present)."""

    TESTS_PASSED: Final = "tests_passed"
    TESTS_TOTAL: Final = "tests_total"
    WRONG_OUTPUT: Final = "tests_wrong_output"  # exited 0, output differs
    CRASHED: Final = "tests_crashed"  # exited non-zero: an exception, a syntax error, a limit's signal
    TIMED_OUT: Final = "tests_timed_out"
    OUTPUT_LIMIT: Final = "tests_output_limit"  # printed more than maxOutputBytes
    NOT_RUN: Final = "tests_not_run"  # the deadline came first, or the sandbox could not start it (flagged)
    NO_CODE: Final = "no_code"  # 1 when the answer holds no program (then the counts are 0)


# What rftctl's tables show beside the pass mark: the record's test count and each answer's passes.
PROMPT_METRIC: Final = (Metric.TESTS_TOTAL, "tests")
ANSWER_METRIC: Final = (Metric.TESTS_PASSED, "passed")
# A batch whose every program loops costs runs / workers x timeoutSeconds (64 x 5 at 4 workers: 160 s); the
# deadline stops the task in time whatever the timeout, but a longer one scores more of such a batch.
GRADER_TIMEOUT_SECONDS: Final = 300
# Lambda gives CPU in proportion to memory: 3,538 MB is 2 vCPUs, so test runs go in parallel (at
# 512 MB, a third of a vCPU, they would queue one behind the other). Unless rft:grader.memoryMb says.
GRADER_MEMORY_MB: Final = 3538


class Flag:
    """Why a sample got the neutral reward: some of its tests did not run, through no fault of its own."""

    DEADLINE: Final = "deadline"  # some tests did not run (or were cut short) for the invocation's deadline
    SANDBOX_ERROR: Final = "sandbox_error"  # the grader could not start a run, or cannot run programs safely here




class Compare:
    LINES: Final = "lines"
    TOKENS: Final = "tokens"
    EXACT: Final = "exact"


OPTIONS: Final = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "timeoutSeconds": {
            "type": "number", "exclusiveMinimum": 0, "maximum": 60, "default": 2.0,
            "description": "wall-clock limit of one test run, interpreter start included",
        },
        "memoryMb": {
            "type": "integer", "minimum": 64, "maximum": 4096, "default": 256,
            "description": "address-space limit of one run (RLIMIT_AS), in MiB",
        },
        "maxOutputBytes": {
            "type": "integer", "minimum": 1024, "maximum": 16 * 1024 * 1024, "default": 1024 * 1024,
            "description": "a run printing more than this to stdout is killed and fails",
        },
        "compare": {
            "enum": [Compare.LINES, Compare.TOKENS, Compare.EXACT], "default": Compare.LINES,
            "description": "lines: trailing whitespace and blank lines ignored; tokens: whitespace-separated "
                           "tokens; exact: bytes",
        },
        "workers": {
            "type": "integer", "minimum": 0, "maximum": 64, "default": 0,
            "description": "runs at once; 0: twice the CPUs, at most what the Lambda's memory holds at memoryMb each",
        },
        "codeWithoutFence": {
            "type": "boolean", "default": False,
            "description": "run an answer without a python or bare code fence whole, instead of scoring it 0.0",
        },
        "failedCodeReward": {
            "type": "number", "minimum": 0, "maximum": 0.5, "default": 0.0,
            "description": "reward of a program that passes no test (AWS's Codeforces sample gives 0.1)",
        },
        "neutralScore": {
            "oneOf": [{"const": GROUP_MEAN}, {"type": "number", "minimum": 0, "maximum": 1}],
            "default": GROUP_MEAN,
            "description": "reward of a sample some of whose tests did not run (deadline, sandbox_error): group-mean "
                           "(the mean of the fully scored samples of its prompt in the batch, else 0.5) or a number; "
                           "kept between what its tests that ran prove and what it could have earned",
        },
        "allowWithoutSeccomp": {
            "type": "boolean", "default": False,
            "description": "run programs where the seccomp filter cannot be installed (only the Python-level "
                           "guards then keep them from signalling the grader or opening sockets); false: every "
                           "sample with a program is flagged sandbox_error there",
        },
    },
}

PYTHON_LANGUAGES: Final = frozenset({"python", "py", "python3", "py3"})
MAX_WORKERS: Final = 64
# Memory the grader process keeps for itself when sizing the pool to the Lambda's memory.
GRADER_RESERVED_MB: Final = 128
LAMBDA_MEMORY_ENV: Final = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
# Kept free before the deadline for killing, reaping and building the results.
KILL_MARGIN_SECONDS: Final = 0.25
# A run is not started with less than this left: the interpreter alone takes tens of milliseconds.
MIN_RUN_SECONDS: Final = 0.1
# Time for the one trivial run that checks, once per process, that programs start in the sandbox at all.
CANARY_SECONDS: Final = 5.0


# ---------------------------------------------------------------------------------------
# Finding the program
# ---------------------------------------------------------------------------------------

# CommonMark fences: up to 3 spaces, 3+ backticks or tildes, an info string (a backtick fence's has no
# backtick). The first word of the info string is the language.
_FENCE_OPEN = re.compile(r"( {0,3})(`{3,}(?=[^`]*$)|~{3,})[ \t]*(\S*)")
_NEWLINES = re.compile(r"\r\n?")


@dataclass(frozen=True, slots=True)
class CodeBlock:
    language: str  # lowercased first word of the info string, "" when untagged
    code: str


def code_blocks(text: str) -> list[CodeBlock]:
    """Fenced code blocks of a Markdown text, as CommonMark reads them (an unclosed fence runs to the end;
    the opening fence's indentation is removed from its lines)."""
    lines = _NEWLINES.sub("\n", text).split("\n")
    blocks: list[CodeBlock] = []
    index = 0
    while index < len(lines):
        opening = _FENCE_OPEN.match(lines[index])
        index += 1
        if opening is None:
            continue
        indent, fence, info = len(opening[1]), opening[2], opening[3]
        closing = re.compile(rf" {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*")
        body: list[str] = []
        while index < len(lines) and closing.fullmatch(lines[index]) is None:
            line = lines[index]
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))):])
            index += 1
        index += 1  # the closing fence
        blocks.append(CodeBlock(info.lower(), "\n".join(body)))
    return blocks


def extract_code(answer: str, *, without_fence: bool = False) -> str | None:
    """The program of an answer: the last python-tagged block, else the last untagged one; else the whole
    answer when ``without_fence``. None when there is no program (nothing but whitespace)."""
    code: str | None = None
    if "```" in answer or "~~~" in answer:
        blocks = code_blocks(answer)
        tagged = [block for block in blocks if block.language in PYTHON_LANGUAGES]
        untagged = [block for block in blocks if not block.language]
        chosen = tagged or untagged
        if chosen:
            code = chosen[-1].code
        elif without_fence and not blocks:
            code = answer
    elif without_fence:
        code = answer
    if code is None:
        return None
    code = code.removeprefix("\ufeff")
    return code if code.strip() else None


# ---------------------------------------------------------------------------------------
# Comparing output
# ---------------------------------------------------------------------------------------


def normalise_output(data: bytes, compare: str) -> bytes:
    """What is compared of an output: ``lines`` drops each line's trailing ASCII whitespace (a CR before
    the LF among it) and the trailing blank lines; ``tokens`` keeps the ASCII-whitespace-separated tokens,
    joined by one space (a token holds no whitespace, so the join is unambiguous); ``exact`` keeps bytes."""
    if compare == Compare.EXACT:
        return data
    if compare == Compare.TOKENS:
        return b" ".join(data.split())
    lines = [line.rstrip() for line in data.split(b"\n")]
    while lines and not lines[-1]:
        lines.pop()
    return b"\n".join(lines)


def encode_text(text: str) -> bytes:
    """UTF-8 bytes of a record's or an answer's text (a lone surrogate from JSON is kept, never raised on)."""
    return text.encode("utf-8", "surrogatepass")


# ---------------------------------------------------------------------------------------
# Reading test cases
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TestCase:
    input: bytes
    output: bytes  # as given; normalised when compared


def test_case_problems(value: Any, where: str) -> list[str]:
    """What is wrong with a ``test_cases`` value ([] when it is a non-empty list of {input, output} strings)."""
    if not isinstance(value, list):
        return [f"{where} must be a list of {{\"input\": string, \"output\": string}} objects, "
                f"got {describe_value(value)}"]
    if not value:
        return [f"{where} is empty: a record needs at least one test case"]
    if len(value) > MAX_TEST_CASES:
        return [f"{where} has {len(value)} test cases; at most {MAX_TEST_CASES}"]
    problems: list[str] = []
    bad = 0
    for index, case in enumerate(value):
        found: list[str] = []
        if not isinstance(case, dict):
            found.append(f"{where}[{index}] must be an object with string input and output, got {describe_value(case)}")
        else:
            for key in (INPUT_KEY, OUTPUT_KEY):
                if key not in case:
                    found.append(f"{where}[{index}] has no {key!r}")
                elif not isinstance(case[key], str):
                    found.append(f"{where}[{index}].{key} must be a string, got {describe_value(case[key])}")
        if found:
            bad += 1
            if bad <= MAX_PROBLEMS_PER_FIELD:
                problems.extend(found)
    if bad > MAX_PROBLEMS_PER_FIELD:
        problems.append(f"{where}: {bad - MAX_PROBLEMS_PER_FIELD} more invalid test cases")
    return problems


def _nested(container: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(container, dict):
            return None
        container = container.get(key)
    return container


def sample_test_cases(sample: ParsedSample) -> tuple[str, Any] | None:
    """(where, value) of the sample's test cases, the first found in the order the module docstring gives."""
    value = sample.field(TEST_CASES_FIELD)
    if value is not None:
        return TEST_CASES_FIELD, value
    value = _nested(sample.reference_answer, TEST_CASES_FIELD)
    if value is not None:
        return f"{REFERENCE_ANSWER_FIELD}.{TEST_CASES_FIELD}", value
    value = _nested(sample.metadata, METADATA_FIELD, TEST_CASES_FIELD)
    if value is not None:
        return f"{METADATA_FIELD}.{METADATA_FIELD}.{TEST_CASES_FIELD}", value
    return None


def record_test_cases(record: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Every place of a training record that holds test cases (non-null), as (where, value)."""
    places = (
        (TEST_CASES_FIELD, record.get(TEST_CASES_FIELD)),
        (f"{METADATA_FIELD}.{TEST_CASES_FIELD}", _nested(record.get(METADATA_FIELD), TEST_CASES_FIELD)),
        (f"{REFERENCE_ANSWER_FIELD}.{TEST_CASES_FIELD}",
         _nested(record.get(REFERENCE_ANSWER_FIELD), TEST_CASES_FIELD)),
    )
    return [(where, value) for where, value in places if value is not None]


def parse_test_cases(value: Any, where: str) -> list[TestCase] | Malformed:
    problems = test_case_problems(value, where)
    if problems:
        return Malformed(problems[0])
    return [TestCase(encode_text(case[INPUT_KEY]), encode_text(case[OUTPUT_KEY])) for case in value]


# ---------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------


def default_workers(memory_mb: int) -> int:
    """Twice the CPUs this process may use (runs wait on pipes and process starts part of the time), at
    most as many runs of ``memory_mb`` as the Lambda's memory holds beside the grader."""
    affinity = getattr(os, "sched_getaffinity", None)
    cpus = len(affinity(0)) if affinity is not None else os.cpu_count() or 1
    workers = min(MAX_WORKERS, 2 * cpus)
    lambda_memory = os.environ.get(LAMBDA_MEMORY_ENV, "")
    if lambda_memory.isdigit():
        workers = min(workers, (int(lambda_memory) - GRADER_RESERVED_MB) // memory_mb)
    return max(1, workers)


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What scoring keeps of a run: how it ended and, for a clean exit, a digest of its normalised output."""

    status: str
    exit_code: int | None = None
    digest: bytes = b""
    detail: str = ""


@dataclass(frozen=True, slots=True)
class _Job:
    """A sample with a program: its tests and the key of each test's run."""

    tests: list[TestCase]
    keys: list[tuple[bytes, bytes]]  # (source, input)


@dataclass(frozen=True, slots=True)
class _Unfinished:
    """A sample some of whose tests did not run: what it gets once the batch's neutral reward is known."""

    metrics: dict[str, float]
    flag: str
    lowest: float  # its reward if every test that did not run had failed
    highest: float  # its reward if every test that did not run had passed

    def score(self, neutral: float) -> Score:
        return Score(min(max(neutral, self.lowest), self.highest), self.metrics, passed=False, flag=self.flag)


class CodeTests:
    """The configured task: runs each batch's programs in parallel and checks records."""

    DESCRIPTION = DESCRIPTION

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.limits = Limits(
            wall_seconds=float(options["timeoutSeconds"]),
            memory_bytes=int(options["memoryMb"]) * 1024 * 1024,
            max_output_bytes=int(options["maxOutputBytes"]),
        )
        self.compare = str(options["compare"])
        self.workers = int(options["workers"]) or default_workers(int(options["memoryMb"]))
        self.without_fence = bool(options["codeWithoutFence"])
        self.failed_code_reward = float(options["failedCodeReward"])
        neutral = options["neutralScore"]
        self.neutral: float | None = None if neutral == GROUP_MEAN else float(neutral)
        self.allow_without_seccomp = bool(options["allowWithoutSeccomp"])
        self.bootstrap = bootstrap_source(self.limits)
        self._unfiltered_bootstrap: str | None = None  # built only when allowWithoutSeccomp has to use it
        self._warned_unfiltered = False

    # -- scoring -----------------------------------------------------------------------

    def score_batch(self, samples: list[ParsedSample], deadline: Deadline | None = None) -> list[Score | Malformed]:
        deadline = deadline or Deadline()
        prepared = [self._prepare(sample) for sample in samples]
        jobs = [item for item in prepared if isinstance(item, _Job)]
        runs = self._run_all(jobs, deadline) if jobs else {}
        scored = [self._score(item, runs) if isinstance(item, _Job) else item for item in prepared]
        unfinished = [item for item in scored if isinstance(item, _Unfinished)]
        if not unfinished:
            return [item for item in scored if not isinstance(item, _Unfinished)]
        # The mean reward of the prompt's fully scored samples (a program whose every test ran, or no program).
        neutral = group_mean_rewards(samples, scored, self.neutral)
        self._log_unfinished(unfinished)
        return [item.score(neutral(sample.prompt)) if isinstance(item, _Unfinished) else item
                for sample, item in zip(samples, scored, strict=True)]

    def _prepare(self, sample: ParsedSample) -> _Job | Score | Malformed:
        found = sample_test_cases(sample)
        if found is None:
            return Malformed(
                f"no {TEST_CASES_FIELD}: expected a list of {{\"input\", \"output\"}} objects at the top level, "
                f"in {METADATA_FIELD} or in {REFERENCE_ANSWER_FIELD}"
            )
        tests = parse_test_cases(found[1], found[0])
        if isinstance(tests, Malformed):
            return tests
        code = extract_code(sample.answer, without_fence=self.without_fence)
        if code is None:
            return _no_code(len(tests))
        source = encode_text(code)
        return _Job(tests, [(source, test.input) for test in tests])

    def _run_all(self, jobs: list[_Job], deadline: Deadline) -> dict[tuple[bytes, bytes], _Outcome]:
        """Every distinct (program, input) run once. Submitted test by test across the samples, so when the
        deadline comes every sample has had its first tests run."""
        order: dict[tuple[bytes, bytes], None] = {}
        for position in range(max(len(job.keys) for job in jobs)):
            for job in jobs:
                if position < len(job.keys):
                    order.setdefault(job.keys[position], None)
        left = deadline.remaining() - KILL_MARGIN_SECONDS
        if left < MIN_RUN_SECONDS:
            return dict.fromkeys(order, _Outcome(Status.DEADLINE))
        sandbox = self._sandbox(min(CANARY_SECONDS, left))
        if isinstance(sandbox, str):  # nothing can run safely here: every sample says so, none is blamed
            _LOG.error("code-tests: no program can run in the sandbox here, %d samples flagged %s (neutral "
                       "reward): %s", len(jobs), Flag.SANDBOX_ERROR, sandbox)
            return dict.fromkeys(order, _Outcome(Status.ERROR, detail=sandbox))
        bootstrap, env = sandbox
        with ThreadPoolExecutor(max_workers=min(self.workers, len(order)), thread_name_prefix="code-tests") as pool:
            futures: dict[tuple[bytes, bytes], Future[_Outcome]] = {
                key: pool.submit(self._run, key[0], key[1], bootstrap, env, deadline) for key in order
            }
        return {key: future.result() for key, future in futures.items()}

    def _sandbox(self, seconds: float) -> tuple[str, dict[str, str]] | str:
        """(bootstrap, environment) of this batch's runs, or why no program can run safely here. The seccomp
        bootstrap whenever its filter installs; the one without only when it does not and allowWithoutSeccomp."""
        try:
            harden_parent()
        except OSError as error:
            return (f"the grader cannot make itself non-dumpable ({error}): a program could read its credentials "
                    "from /proc")
        probe = probe_sandbox(self.limits, self.bootstrap, seccomp=True, wall_seconds=seconds)
        if probe.env is not None:
            return self.bootstrap, probe.env
        if not probe.seccomp_failed:
            return probe.problem
        if not self.allow_without_seccomp:
            return (f"{probe.problem}; without the seccomp filter a program could kill the grader or reach the "
                    "network (allowWithoutSeccomp runs programs anyway, with the Python-level guards only)")
        if self._unfiltered_bootstrap is None:
            self._unfiltered_bootstrap = bootstrap_source(self.limits, seccomp=False)
        fallback = probe_sandbox(self.limits, self._unfiltered_bootstrap, seccomp=False, wall_seconds=seconds)
        if fallback.env is None:
            return fallback.problem
        if not self._warned_unfiltered:
            self._warned_unfiltered = True
            _LOG.warning("code-tests: running programs WITHOUT the seccomp filter (allowWithoutSeccomp): %s; only "
                         "the Python-level guards keep them from signalling the grader or opening sockets",
                         probe.problem)
        return self._unfiltered_bootstrap, fallback.env

    def _run(self, source: bytes, stdin: bytes, bootstrap: str, env: dict[str, str], deadline: Deadline) -> _Outcome:
        """One run, reduced to what scoring needs (a digest of the output, never the output itself)."""
        wall = min(self.limits.wall_seconds, deadline.remaining() - KILL_MARGIN_SECONDS)
        if wall < MIN_RUN_SECONDS:
            return _Outcome(Status.DEADLINE)
        try:
            result = run_python(source, stdin, self.limits, bootstrap, env=env, wall_seconds=wall)
        except Exception as error:  # noqa: BLE001 - a grader failure costs this run, flagged, never the batch
            return _Outcome(Status.ERROR, detail=f"{type(error).__name__}: {error}")
        if result.status == Status.TIMEOUT and wall < self.limits.wall_seconds:
            return _Outcome(Status.DEADLINE)  # its time was cut by the deadline, not its own
        if result.status != Status.EXITED:
            return _Outcome(result.status, detail=result.detail)
        digest = _digest(result.stdout, self.compare) if result.exit_code == 0 else b""
        return _Outcome(result.status, result.exit_code, digest)

    def _score(self, job: _Job, runs: Mapping[tuple[bytes, bytes], _Outcome]) -> Score | _Unfinished:
        counts = _zero_counts()
        flag: str | None = None
        for test, key in zip(job.tests, job.keys, strict=True):
            outcome = runs[key]
            if outcome.status == Status.EXITED:
                if outcome.exit_code != 0:
                    counts[Metric.CRASHED] += 1
                elif outcome.digest == _digest(test.output, self.compare):
                    counts[Metric.TESTS_PASSED] += 1
                else:
                    counts[Metric.WRONG_OUTPUT] += 1
            elif outcome.status == Status.TIMEOUT:
                counts[Metric.TIMED_OUT] += 1
            elif outcome.status == Status.OUTPUT_LIMIT:
                counts[Metric.OUTPUT_LIMIT] += 1
            else:
                counts[Metric.NOT_RUN] += 1
                if outcome.status == Status.DEADLINE:
                    flag = Flag.DEADLINE
                elif flag is None:
                    flag = Flag.SANDBOX_ERROR
        total = len(job.tests)
        passed = counts[Metric.TESTS_PASSED]
        metrics: dict[str, float] = {Metric.TESTS_TOTAL: total, **counts, Metric.NO_CODE: 0}
        if flag is not None:
            return _Unfinished(metrics, flag, self._reward(passed, total),
                               self._reward(passed + counts[Metric.NOT_RUN], total))
        return Score(self._reward(passed, total), metrics, passed=passed == total)

    def _reward(self, passed: int, total: int) -> float:
        return passed / total if passed else self.failed_code_reward

    @staticmethod
    def _log_unfinished(unfinished: list[_Unfinished]) -> None:
        for flag in (Flag.DEADLINE, Flag.SANDBOX_ERROR):
            flagged = [item for item in unfinished if item.flag == flag]
            if flagged:
                _LOG.warning("code-tests: %d samples got the neutral reward (%s): %d of their %d tests did not run",
                             len(flagged), flag, sum(int(item.metrics[Metric.NOT_RUN]) for item in flagged),
                             sum(int(item.metrics[Metric.TESTS_TOTAL]) for item in flagged))

    # -- the dataset check -------------------------------------------------------------

    def check_record(self, record: dict[str, Any]) -> list[str]:
        """``test_cases`` (top level, ``metadata`` or ``reference_answer``) must be a non-empty list of
        objects with string ``input`` and ``output``; places that hold it must agree; no expected output may
        be empty, the outputs must not all be the same, nor each its own input (a program printing nothing, a
        constant or its input back would pass)."""
        places = record_test_cases(record)
        if not places:
            return [f"no {TEST_CASES_FIELD}: add a list of {{\"input\": ..., \"output\": ...}} objects as "
                    f"{TEST_CASES_FIELD} (or {METADATA_FIELD}.{TEST_CASES_FIELD} or "
                    f"{REFERENCE_ANSWER_FIELD}.{TEST_CASES_FIELD})"]
        problems: list[str] = []
        for where, value in places:
            problems.extend(test_case_problems(value, where))
        if problems:
            return problems
        first_where, first = places[0]
        for where, value in places[1:]:
            if value != first:
                problems.append(f"{where} differs from {first_where}; the grader reads {first_where}")
        outputs = [normalise_output(encode_text(case[OUTPUT_KEY]), self.compare) for case in first]
        for index, output in enumerate(outputs):
            if not output:
                problems.append(f"{first_where}[{index}].output is empty: a program printing nothing would pass it")
        if len(outputs) > 1 and all(output == outputs[0] for output in outputs) and outputs[0]:
            problems.append(f"every test case of {first_where} expects the same output: a program printing it "
                            "without reading the input would pass them all")
        inputs = [normalise_output(encode_text(case[INPUT_KEY]), self.compare) for case in first]
        if all(output == given for output, given in zip(outputs, inputs, strict=True)) and any(outputs):
            problems.append(f"every test case of {first_where} expects its own input back: a program echoing "
                            "its input would pass them all")
        return problems


def _zero_counts() -> dict[str, int]:
    return dict.fromkeys(
        (Metric.TESTS_PASSED, Metric.WRONG_OUTPUT, Metric.CRASHED, Metric.TIMED_OUT, Metric.OUTPUT_LIMIT,
         Metric.NOT_RUN), 0)


def _no_code(total: int) -> Score:
    return Score(0.0, {Metric.TESTS_TOTAL: total, **_zero_counts(), Metric.NO_CODE: 1}, passed=False)


def _digest(output: bytes, compare: str) -> bytes:
    return hashlib.sha256(normalise_output(output, compare)).digest()


def configure(options: Mapping[str, Any]) -> CodeTests:
    return CodeTests(options)
