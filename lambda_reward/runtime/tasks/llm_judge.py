"""LLM judge: a Bedrock model scores each answer against a rubric, through the Converse API.

The rubric is a template file in this folder (``llm_judge_rubric.md`` by default) with the prompt,
the answer and the reference answer filled in; the judge replies ``{"score": N, "reason": ...}`` on
the configured scale (0-10 by default), which maps linearly to a reward in [0, 1].

What keeps a training run safe:

* the answer goes to the judge between delimiter tags, and any of the rubric's tags inside the
  untrusted text (the answer, the prompt, the reference) are defused, so the answer cannot close its
  tag and speak as the rubric; the rubric tells the judge to ignore instructions inside the answer;
* the reply is parsed strictly: the whole reply (or one fenced block that is the whole reply) as a
  JSON object with a numeric ``score``; otherwise only a final line ``SCORE: N`` when nothing else in
  the reply looks like a score. Anything else is ``judge_unparsable``. A score outside the scale is
  clamped (metric ``judge_out_of_range``);
* an empty answer (nothing a reader sees) or an echo of the prompt scores 0.0 without a call;
* identical (prompt, answer, reference) in one batch are judged once;
* calls run in a thread pool of ``maxConcurrency``, retried with jittered exponential backoff on
  throttling and transient errors, and never past the invocation's deadline: a retry that cannot
  finish in time is not started, and the batch returns at the deadline whatever is still in flight;
* a call that fails, cannot run in time, or gives an unparsable reply is scored with the neutral
  reward and flagged (``judge_failed``, ``judge_deadline``, ``judge_unparsable``); nothing raises.

The neutral reward (``neutralScore``) is by default the mean reward of the samples of the same
prompt that were truly scored in this batch (so the flagged sample carries no advantage in its
GRPO group), else 0.5.

boto3 is imported only when a batch calls the judge, so other tasks' cold starts never pay for it.
``invoke_resources`` / ``invoke_statements`` give the IAM grant the grader's role needs for the
configured judge (exactly that model or inference profile).
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import re
import threading
import unicodedata
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import regex

from lambda_reward.runtime.samples import ParsedSample, describe_value, message_text, strip_reasoning
from lambda_reward.runtime.tasks import GROUP_MEAN, Deadline, Score, TaskError, TaskFailure, group_mean_rewards
from lambda_reward.runtime.tasks._json import loads_strict
from lambda_reward.runtime.tasks._text import echoes, has_visible_content

DESCRIPTION: Final = "a Bedrock model scores the answer against a rubric (Converse API)"

TASKS_DIR: Final = Path(__file__).resolve().parent
# Nova 2 Lite through the US cross-region inference profile: callable with Converse from both
# regions this app's stacks run in (us-east-1 for Nova, us-west-2 for the open-weight models).
DEFAULT_JUDGE_MODEL: Final = "us.amazon.nova-2-lite-v1:0"
# The grader's timeout unless rft:grader.timeoutSeconds says otherwise: a batch of judge calls with
# retries needs minutes, not the 60 s pure scoring does (Bedrock waits for the grader's reply).
GRADER_TIMEOUT_SECONDS: Final = 300
DEFAULT_RUBRIC: Final = "llm_judge_rubric.md"
# In a rubric, this line (alone on its line) ends the system prompt; what follows is the user message.
USER_MESSAGE_MARKER: Final = "----- user message -----"
PLACEHOLDERS: Final = ("prompt", "answer", "reference", "scale_min", "scale_max")
NO_REFERENCE: Final = "(no reference answer was given)"


class Flag:
    """Why a sample got the neutral reward instead of a judged one."""

    FAILED: Final = "judge_failed"  # the call failed (access denied, validation, timeout, retries exhausted)
    DEADLINE: Final = "judge_deadline"  # no time left to make (or finish) the call
    UNPARSABLE: Final = "judge_unparsable"  # the judge's reply held no score this task accepts


class Metric:
    """Names of this task's metrics_list entries (present only where they apply)."""

    JUDGE_SCORE: Final = "judge_score"  # the judge's score on its own scale (clamped)
    RETRIES: Final = "judge_retries"  # retries the sample's call needed
    REUSED: Final = "judge_reused"  # 1: an identical sample earlier in the batch was judged
    OUT_OF_RANGE: Final = "judge_out_of_range"  # 1: the judge's score was outside the scale (clamped)
    TRUNCATED: Final = "input_truncated"  # 1: a field was cut to maxFieldChars for the judge
    EMPTY: Final = "empty"  # 1: nothing visible in the answer (0.0, no call)
    ECHO: Final = "echo"  # 1: the answer repeats the prompt (0.0, no call)


# Geography prefixes of inference profiles the grader cannot call: its stacks run in US regions.
_OTHER_GEOGRAPHIES: Final = ("eu", "apac", "ap", "jp", "au", "ca", "us-gov", "sa", "me", "af", "mx", "in")
_MODEL_ID_PATTERN: Final = r"^(?:(?:us|global)\.)?[a-z][a-z0-9-]*\.[A-Za-z0-9][A-Za-z0-9._:-]{0,200}$"

OPTIONS: Final = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "judgeModel": {
            "type": "string", "pattern": _MODEL_ID_PATTERN, "default": DEFAULT_JUDGE_MODEL,
            "description": "the judge: a foundation-model id or a us./global. cross-region inference profile id",
        },
        "rubric": {
            "type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}\.md$", "default": DEFAULT_RUBRIC,
            "description": "the rubric template: a .md file in lambda_reward/runtime/tasks",
        },
        "scale": {
            "type": "object", "additionalProperties": False, "required": ["min", "max"],
            "properties": {"min": {"type": "number"}, "max": {"type": "number"}},
            "default": {"min": 0, "max": 10},
            "description": "the judge's score range; min maps to reward 0.0 and max to 1.0",
        },
        "passAt": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.7,
                   "description": "the reward from which a sample passes"},
        "neutralScore": {
            "oneOf": [{"const": GROUP_MEAN}, {"type": "number", "minimum": 0, "maximum": 1}],
            "default": GROUP_MEAN,
            "description": "reward of a sample the judge could not score: group-mean (the mean of the scored "
                           "samples of its prompt in the batch, else 0.5) or a number",
        },
        "maxConcurrency": {"type": "integer", "minimum": 1, "maximum": 128, "default": 16,
                           "description": "judge calls in flight at once"},
        "maxTokens": {"type": "integer", "minimum": 16, "maximum": 8192, "default": 512,
                      "description": "the judge's maxTokens"},
        "temperature": {"type": "number", "minimum": 0, "maximum": 1, "default": 0,
                        "description": "the judge's temperature"},
        "maxRetries": {"type": "integer", "minimum": 0, "maximum": 10, "default": 4,
                       "description": "retries of a throttled or transiently failed call"},
        "callTimeoutSeconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 900, "default": 30,
                               "description": "read timeout of a call (lowered to the whole seconds left, at least 1)"},
        "minCallSeconds": {"type": "number", "minimum": 0, "maximum": 60, "default": 1,
                           "description": "a call or retry starts only with at least this much time left"},
        "maxFieldChars": {"type": "integer", "minimum": 100, "maximum": 1_000_000, "default": 20_000,
                          "description": "prompt, answer and reference are each cut to this many characters"},
        "rejectEcho": {"type": "boolean", "default": True,
                       "description": "0.0 without a call for an answer that repeats the prompt"},
    },
}

_LOG = logging.getLogger(__name__)

# Errors worth another attempt: the service asks to slow down, or a transient fault on its side.
RETRYABLE_CODES: Final = frozenset({
    "ThrottlingException", "ServiceUnavailableException", "ModelNotReadyException",
    "InternalServerException", "ModelTimeoutException", "TooManyRequestsException",
})
# Any error with these HTTP statuses is retried too (a proxy's 502, an unmodelled 503).
RETRYABLE_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
BACKOFF_BASE_SECONDS: Final = 0.25
BACKOFF_CAP_SECONDS: Final = 8.0
CONNECT_TIMEOUT_SECONDS: Final = 5.0


# ---------------------------------------------------------------------------------------
# The judge's reply
# ---------------------------------------------------------------------------------------


def _json_object(text: str) -> dict[str, Any] | None:
    """``text`` as one JSON object (duplicate keys and NaN/Infinity refused), else None."""
    if not text.startswith("{"):
        return None
    try:
        value = loads_strict(text)
    except ValueError:  # StrictJsonError too
        return None
    return value if isinstance(value, dict) else None


# The whole reply as one fenced block: ```json ... ``` (the language tag optional).
_FENCED = re.compile(r"```[A-Za-z]*[ \t]*\r?\n(.*?)\r?\n[ \t]*```", re.DOTALL)
# The fallback: the reply's last line, exactly "SCORE: N" (ASCII digits, any case, optional sign).
_SCORE_LINE = re.compile(r"score[ \t]*[:：][ \t]*([-+]?[0-9]{1,12}(?:\.[0-9]{1,12})?)", re.IGNORECASE)
# Anything that looks like a score anywhere in the reply; more than one makes it ambiguous.
_ANY_SCORE = re.compile(r"score[\W_]*[:：=]", re.IGNORECASE)


def parse_judge_reply(text: str) -> float | None:
    """The score in a judge's reply, or None when it holds none this task accepts.

    Accepted, in order: the whole reply as a JSON object whose ``score`` is a finite number (not a
    boolean, not a string); the whole reply as one fenced block holding such an object; otherwise a
    last line ``SCORE: N`` when nothing else in the reply looks like a score (``score:``, ``"score":``). A JSON reply
    without a valid ``score`` is not searched further. Leading reasoning (``<thinking>...``) and a
    byte order mark are ignored.
    """
    text = strip_reasoning(text.lstrip("\ufeff")).strip()
    if not text:
        return None
    candidate = _json_object(text)
    if candidate is None:
        fenced = _FENCED.fullmatch(text)
        if fenced is not None and "```" not in fenced[1]:
            candidate = _json_object(fenced[1].strip())
            if candidate is None:
                return None  # a fenced block that is not the verdict
    if candidate is not None:
        return _number(candidate.get("score"))
    if len(_ANY_SCORE.findall(text)) != 1:
        return None
    last_line = text.splitlines()[-1].strip()
    match = _SCORE_LINE.fullmatch(last_line)
    return _number(float(match[1])) if match is not None else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


# ---------------------------------------------------------------------------------------
# The rubric
# ---------------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\{\{[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*\}\}")
_TEMPLATE_TAG = re.compile(r"</?[ \t]*([A-Za-z][A-Za-z0-9_-]{0,63})[ \t]*>")
# What may open a tag for a reader: "<" and the characters NFKC maps to it (full-width "＜", small
# "﹤"), and the angle brackets that look like it ("‹", "〈", "〈", "⟨").
_TAG_OPENERS: Final = "<\uff1c\ufe64\u2039\u3008\u2329\u27e8"
# A tag-like start in untrusted text: an opener, then spaces, slashes and invisible format
# characters, then a name (which may hide format characters or full-width letters).
_TAG_START = regex.compile(rf"[{_TAG_OPENERS}]([\s/\uff0f\p{{Cf}}]*)([\p{{L}}\p{{N}}_\-\p{{Cf}}]{{1,64}})")
_FORMAT_CHARS = regex.compile(r"\p{Cf}+")


@dataclass(frozen=True)
class Rubric:
    """A rubric template, split into its system prompt (may be empty) and user message."""

    name: str
    system: str
    user: str
    tags: frozenset[str]  # the tag names the template uses as delimiters, case folded

    @classmethod
    def load(cls, name: str, folder: Path = TASKS_DIR) -> Rubric:
        """Read and check a rubric file of ``folder``; TaskError naming ``rubric`` when it cannot serve."""
        path = (folder / name).resolve()
        if path.parent != folder.resolve():
            raise TaskError([f"rubric: {name!r} is not a file directly in {folder}"])
        if not path.is_file():
            raise TaskError([f"rubric: no file {name!r} in {folder}"])
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as error:
            raise TaskError([f"rubric: cannot read {name!r} as UTF-8 ({error})"]) from None
        return cls.parse(name, text)

    @classmethod
    def parse(cls, name: str, text: str) -> Rubric:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        markers = [index for index, line in enumerate(lines) if line.strip() == USER_MESSAGE_MARKER]
        if len(markers) > 1:
            raise TaskError([f"rubric: {name!r} has {len(markers)} lines {USER_MESSAGE_MARKER!r}; at most one"])
        if markers:
            system = "\n".join(lines[: markers[0]]).strip()
            user = "\n".join(lines[markers[0] + 1 :]).strip()
        else:
            system, user = "", text.strip()
        unknown = sorted({match[1] for match in _PLACEHOLDER.finditer(text)} - set(PLACEHOLDERS))
        if unknown:
            raise TaskError([
                f"rubric: {name!r} uses unknown placeholders {', '.join('{{' + n + '}}' for n in unknown)}; "
                f"known: {', '.join('{{' + n + '}}' for n in PLACEHOLDERS)}"
            ])
        if not _PLACEHOLDER.search(user) or "answer" not in {match[1] for match in _PLACEHOLDER.finditer(user)}:
            raise TaskError([f"rubric: {name!r} must put {{{{answer}}}} in its user message"])
        tags = frozenset(match[1].casefold() for match in _TEMPLATE_TAG.finditer(text))
        return cls(name, system, user, tags)

    def render(self, values: Mapping[str, str]) -> tuple[str, str]:
        """(system, user) with the placeholders filled in one pass: a value is never read as a template,
        so braces or placeholders inside the answer stay literal text. Untrusted values must be defused
        first (``defuse_tags``)."""

        def fill(match: re.Match[str]) -> str:
            return values[match[1]]

        return _PLACEHOLDER.sub(fill, self.system), _PLACEHOLDER.sub(fill, self.user)


def defuse_tags(text: str, tags: frozenset[str]) -> str:
    """``text`` with every opening or closing tag named in ``tags`` made inert: its ``<`` (or look-alike)
    becomes ``&lt;``. Look-alike brackets, spaces, slashes, case, full-width letters and invisible
    characters inside the tag do not hide it."""
    if not tags or not any(opener in text for opener in _TAG_OPENERS):
        return text

    def defuse(match: regex.Match[str]) -> str:
        name = unicodedata.normalize("NFKC", _FORMAT_CHARS.sub("", match[2])).casefold()
        if name in tags:
            return "&lt;" + match[1] + match[2]
        return str(match[0])

    return str(_TAG_START.sub(defuse, text))


def reference_text(value: Any) -> str:
    """The reference answer as the judge reads it: a string as is; an object's ``answer`` (or
    ``expected_answer``, ``ground_truth``...) and ``key_points`` when it has them, else its JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        parts = []
        for key in ("answer", "reference", "expected_answer", "expectedAnswer", "ground_truth"):
            if isinstance(value.get(key), str) and value[key].strip():
                parts.append(value[key])
                break
        points = value.get("key_points")
        if isinstance(points, list) and points and all(isinstance(point, str) for point in points):
            parts.append("Key points:\n" + "\n".join(f"- {point}" for point in points))
        if parts:
            return "\n".join(parts)
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError, RecursionError):
        return describe_value(value)


def _cut(text: str, limit: int) -> tuple[str, bool]:
    if len(text) <= limit:
        return text, False
    return f"{text[:limit]}\n[... {len(text) - limit} more characters not shown]", True


# ---------------------------------------------------------------------------------------
# IAM: what the grader's role must be allowed to invoke
# ---------------------------------------------------------------------------------------

# Where a US cross-region inference profile may route a request (AWS user guide, "Supported
# Regions and models for inference profiles"): the default judge's exactly, any other us. profile
# every US commercial Region (the grant is still usable only through that one profile).
_US_PROFILE_DESTINATIONS: Final = {
    "amazon.nova-2-lite-v1:0": ("us-east-1", "us-east-2", "us-west-2"),
}
_US_REGIONS: Final = ("us-east-1", "us-east-2", "us-west-1", "us-west-2")
INVOKE_ACTION: Final = "bedrock:InvokeModel"  # what Converse is authorised by


def judge_model_of(options: Mapping[str, Any]) -> str:
    model = options.get("judgeModel", DEFAULT_JUDGE_MODEL)
    if not isinstance(model, str) or not re.fullmatch(_MODEL_ID_PATTERN, model):
        raise TaskError([f"judgeModel: {describe_value(model)} is not a model id or a us./global. profile id"])
    geography = model.split(".", 1)[0]
    if geography in _OTHER_GEOGRAPHIES:
        raise TaskError([
            f"judgeModel: {model!r} is a {geography}. inference profile; the grader runs in a US Region and "
            "can call a foundation model, a us. or a global. profile"
        ])
    return model


def invoke_statements(
    options: Mapping[str, Any], *, region: str, account: str, partition: str = "aws"
) -> list[dict[str, Any]]:
    """IAM policy statements (plain JSON) letting the grader call exactly the configured judge.

    * a foundation-model id: ``bedrock:InvokeModel`` on that model in ``region``;
    * a ``us.`` profile: on the profile in ``region`` and ``account``, and on the model in each
      Region the profile routes to, allowed only through that profile (condition
      ``bedrock:InferenceProfileArn``), as the user guide's geographic cross-Region inference policy;
    * a ``global.`` profile: on the profile, and on the model in ``region`` and the Region-less model
      ARN, only through that profile.
    """
    model = judge_model_of(options)
    geography, _, rest = model.partition(".")
    base = rest if geography in ("us", "global") else model

    def foundation_model(model_region: str) -> str:
        return f"arn:{partition}:bedrock:{model_region}::foundation-model/{base}"

    if geography not in ("us", "global"):
        return [{"Sid": "InvokeJudgeModel", "Effect": "Allow", "Action": INVOKE_ACTION,
                 "Resource": [foundation_model(region)]}]
    if geography == "us":
        if not region.startswith("us-") or region.startswith("us-gov-"):
            raise ValueError(f"judgeModel {model!r} is a US inference profile; the grader's region is {region}")
        destinations = _US_PROFILE_DESTINATIONS.get(base, _US_REGIONS)
        models = [foundation_model(destination) for destination in sorted({region, *destinations})]
    else:
        models = [foundation_model(region), foundation_model("")]
    profile = f"arn:{partition}:bedrock:{region}:{account}:inference-profile/{model}"
    return [
        {"Sid": "InvokeJudgeInferenceProfile", "Effect": "Allow", "Action": INVOKE_ACTION, "Resource": [profile]},
        {"Sid": "InvokeJudgeModelThroughProfile", "Effect": "Allow", "Action": INVOKE_ACTION, "Resource": models,
         "Condition": {"StringEquals": {"bedrock:InferenceProfileArn": profile}}},
    ]


def invoke_resources(options: Mapping[str, Any], *, region: str, account: str, partition: str = "aws") -> list[str]:
    """The ARNs ``invoke_statements`` grants ``bedrock:InvokeModel`` on, in order."""
    return [
        arn
        for statement in invoke_statements(options, region=region, account=account, partition=partition)
        for arn in statement["Resource"]
    ]


# ---------------------------------------------------------------------------------------
# Calling the judge
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Verdict:
    """One judge call's outcome: a score on the judge's scale, or the flag saying why there is none."""

    score: float | None
    flag: str | None = None
    retries: int = 0
    reason: str = ""  # for the log: the error code or what was wrong


def _transport_errors() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...], type[BaseException]]:
    """(retryable connection errors, timeouts, ClientError), imported with botocore on first use."""
    from botocore.exceptions import (
        ClientError,
        ConnectionClosedError,
        ConnectTimeoutError,
        EndpointConnectionError,
        ReadTimeoutError,
    )

    return (ConnectTimeoutError, EndpointConnectionError, ConnectionClosedError), (ReadTimeoutError,), ClientError


class LlmJudge:
    """The configured task: judges a batch in parallel, and checks training records."""

    def __init__(
        self,
        options: Mapping[str, Any],
        *,
        rng: random.Random | None = None,
        client_factory: Callable[[float, float, int], Any] | None = None,
    ) -> None:
        self.options = dict(options)
        self.judge_model = judge_model_of(options)
        self.rubric = Rubric.load(str(options["rubric"]))
        # The rubric file is part of what this task scores with (the grader's code fingerprint).
        self.DATA_FILES = (str(options["rubric"]),)
        scale = options["scale"]
        self.scale_min, self.scale_max = float(scale["min"]), float(scale["max"])
        if not self.scale_max > self.scale_min:
            raise TaskError([f"scale: max ({scale['max']}) must be greater than min ({scale['min']})"])
        self.PASS_AT = float(options["passAt"])
        neutral = options["neutralScore"]
        self.neutral: float | None = None if neutral == GROUP_MEAN else float(neutral)
        self.max_concurrency = int(options["maxConcurrency"])
        self.inference_config = {"maxTokens": int(options["maxTokens"]), "temperature": float(options["temperature"])}
        self.max_retries = int(options["maxRetries"])
        self.call_timeout = float(options["callTimeoutSeconds"])
        self.min_call_seconds = float(options["minCallSeconds"])
        self.max_field_chars = int(options["maxFieldChars"])
        self.reject_echo = bool(options["rejectEcho"])
        self.backoff_base = BACKOFF_BASE_SECONDS
        self.backoff_cap = BACKOFF_CAP_SECONDS
        self._rng = rng or random.Random()
        self._client_factory = client_factory or self._boto3_client
        self._clients: dict[tuple[float, float], Any] = {}
        self._lock = threading.Lock()
        self._session: Any = None

    def iam_statements(self, *, region: str, account: str, partition: str) -> list[dict[str, Any]]:
        """What the grader's role needs: invoking exactly the configured judge (see invoke_statements)."""
        return invoke_statements(self.options, region=region, account=account, partition=partition)

    # ---- records ----

    def check_record(self, record: dict[str, Any]) -> list[str]:
        """The judge needs a reference answer, and fields short enough to reach it whole."""
        problems = []
        reference = record.get("reference_answer")
        if reference is None:
            problems.append("reference_answer: missing; the judge compares each answer with it")
        elif not reference_text(reference).strip() or reference in ({}, []):
            problems.append(f"reference_answer: empty ({describe_value(reference)}); give an example answer "
                            "or its key points")
        elif len(reference_text(reference)) > self.max_field_chars:
            problems.append(f"reference_answer: {len(reference_text(reference))} characters, more than "
                            f"maxFieldChars ({self.max_field_chars}); the judge would see it cut")
        messages = record.get("messages")
        if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
            content = message_text(messages[-1].get("content"))
            if content is not None and len(content) > self.max_field_chars:
                problems.append(f"messages: the prompt has {len(content)} characters, more than maxFieldChars "
                                f"({self.max_field_chars}); the judge would see it cut")
        return problems

    # ---- scoring ----

    def score_batch(self, samples: list[ParsedSample], deadline: Deadline | None = None) -> list[Score | TaskFailure]:
        deadline = deadline or Deadline()
        scores: list[Score | TaskFailure | None] = [None] * len(samples)
        requests: dict[tuple[str, str, str], dict[str, Any]] = {}
        members: dict[tuple[str, str, str], list[int]] = {}
        truncated: dict[tuple[str, str, str], bool] = {}
        for index, sample in enumerate(samples):
            try:
                answer = sample.answer
                if not has_visible_content(answer):
                    scores[index] = Score(0.0, {Metric.EMPTY: 1})
                    continue
                # Exact repeats only: correcting, rewriting or re-casing the prompt can be the task.
                if self.reject_echo and sample.prompt and echoes(answer, sample.prompt, edited=False):
                    scores[index] = Score(0.0, {Metric.ECHO: 1})
                    continue
                reference = reference_text(sample.reference_answer)
                key = (sample.prompt, answer, reference)
                if key not in members:
                    requests[key], truncated[key] = self._request(sample.prompt, answer, reference)
                    members[key] = []
                members[key].append(index)
            except Exception as error:  # noqa: BLE001 - a bug on one sample costs that sample only
                scores[index] = TaskFailure(_describe(error))

        verdicts = self._judge_all(requests, deadline)
        flagged: list[tuple[int, Verdict, dict[str, float]]] = []
        for key, indexes in members.items():
            verdict = verdicts[key]
            for position, index in enumerate(indexes):
                metrics: dict[str, float] = {Metric.RETRIES: verdict.retries}
                if position:
                    metrics[Metric.REUSED] = 1
                if truncated[key]:
                    metrics[Metric.TRUNCATED] = 1
                if verdict.score is None and verdict.flag == Flag.UNPARSABLE:
                    # The judge answered, but not with a score: most likely the answer derailed it (an
                    # injection). That must never pay more than a bad answer: the scale's minimum.
                    scores[index] = Score(0.0, metrics, flag=verdict.flag)
                    continue
                if verdict.score is None:
                    flagged.append((index, verdict, metrics))
                    continue
                clamped = min(max(verdict.score, self.scale_min), self.scale_max)
                metrics[Metric.JUDGE_SCORE] = clamped
                if clamped != verdict.score:
                    metrics[Metric.OUT_OF_RANGE] = 1
                reward = (clamped - self.scale_min) / (self.scale_max - self.scale_min)
                scores[index] = Score(reward, metrics)

        if flagged:
            neutral = group_mean_rewards(samples, scores, self.neutral)
            for index, verdict, metrics in flagged:
                scores[index] = Score(neutral(samples[index].prompt), metrics, flag=verdict.flag)
            self._log_failures([verdict for _, verdict, _ in flagged])
        return [score for score in scores if score is not None]

    def _request(self, prompt: str, answer: str, reference: str) -> tuple[dict[str, Any], bool]:
        """The Converse request judging one (prompt, answer, reference), and whether a field was cut."""
        tags = self.rubric.tags
        prompt_text, cut_prompt = _cut(prompt, self.max_field_chars)
        answer_text, cut_answer = _cut(answer, self.max_field_chars)
        reference_shown, cut_reference = _cut(reference, self.max_field_chars)
        system, user = self.rubric.render({
            "prompt": defuse_tags(prompt_text, tags),
            "answer": defuse_tags(answer_text, tags),
            "reference": defuse_tags(reference_shown, tags) if reference.strip() else NO_REFERENCE,
            "scale_min": _format_number(self.scale_min),
            "scale_max": _format_number(self.scale_max),
        })
        request: dict[str, Any] = {
            "modelId": self.judge_model,
            "messages": [{"role": "user", "content": [{"text": user}]}],
            "inferenceConfig": dict(self.inference_config),
        }
        if system:
            request["system"] = [{"text": system}]
        return request, cut_prompt or cut_answer or cut_reference

    def _judge_all(self, requests: Mapping[tuple[str, str, str], dict[str, Any]],
                   deadline: Deadline) -> dict[tuple[str, str, str], Verdict]:
        if not requests:
            return {}
        if not self._time_for_a_call(deadline):
            return dict.fromkeys(requests, Verdict(None, Flag.DEADLINE, reason="no time left for a call"))
        try:
            client = self._client(deadline)
        except Exception as error:  # noqa: BLE001 - no client (no region, no boto3): every sample flagged
            return dict.fromkeys(requests, Verdict(None, Flag.FAILED, reason=f"no client: {_describe(error)}"))
        stop = threading.Event()
        executor = ThreadPoolExecutor(max_workers=min(self.max_concurrency, len(requests)),
                                      thread_name_prefix="llm-judge")
        futures: dict[Future[Verdict], tuple[str, str, str]] = {}
        try:
            for key, request in requests.items():
                futures[executor.submit(self._judge, client, request, deadline, stop)] = key
            remaining = deadline.remaining()
            wait(futures, timeout=None if math.isinf(remaining) else remaining)
        finally:
            stop.set()  # calls still queued or backing off give up at once
            executor.shutdown(wait=False, cancel_futures=True)
        verdicts = {}
        for future, key in futures.items():
            if future.done() and not future.cancelled():
                try:
                    verdicts[key] = future.result()
                except Exception as error:  # noqa: BLE001 - a bug in a call costs its samples only
                    verdicts[key] = Verdict(None, Flag.FAILED, reason=_describe(error))
            else:
                verdicts[key] = Verdict(None, Flag.DEADLINE, reason="still running at the deadline")
        return verdicts

    def _judge(self, client: Any, request: dict[str, Any], deadline: Deadline, stop: threading.Event) -> Verdict:
        """One judge call with its retries; never raises, never starts an attempt it cannot finish."""
        connection_errors, timeouts, client_error = _transport_errors()
        retries = 0
        while True:
            if stop.is_set() or not self._time_for_a_call(deadline):
                return Verdict(None, Flag.DEADLINE, retries, "no time left for a call")
            try:
                response = client.converse(**request)
            except client_error as error:
                code, status = _error_code(error)
                if code not in RETRYABLE_CODES and status not in RETRYABLE_STATUSES:
                    return Verdict(None, Flag.FAILED, retries, code)
                problem = code
            except connection_errors as error:
                problem = type(error).__name__
            except timeouts as error:
                return Verdict(None, Flag.FAILED, retries, type(error).__name__)
            except Exception as error:  # noqa: BLE001 - whatever the client raises costs this call only
                return Verdict(None, Flag.FAILED, retries, _describe(error))
            else:
                return self._verdict(response, retries)
            if retries >= self.max_retries:
                return Verdict(None, Flag.FAILED, retries, f"{problem} after {retries} retries")
            delay = self._backoff(retries)
            if not self._time_for_a_call(deadline, after=delay):
                return Verdict(None, Flag.DEADLINE, retries, f"{problem}; no time left to retry")
            if stop.wait(delay):
                return Verdict(None, Flag.DEADLINE, retries, f"{problem}; the batch ended while backing off")
            retries += 1

    def _time_for_a_call(self, deadline: Deadline, after: float = 0.0) -> bool:
        """Whether a call started ``after`` seconds from now would have minCallSeconds (and any time) left."""
        remaining = deadline.remaining() - after
        return remaining > 0 and remaining >= self.min_call_seconds

    def _backoff(self, retries: int) -> float:
        """Exponential backoff with jitter: between half and all of base x 2^retries (capped)."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0**retries)
        return ceiling / 2 + self._rng.uniform(0, ceiling / 2)

    def _verdict(self, response: Any, retries: int) -> Verdict:
        try:
            content = response["output"]["message"]["content"]
        except (KeyError, TypeError):
            return Verdict(None, Flag.FAILED, retries, "the response has no output message")
        text = message_text(content)
        if text is None:
            return Verdict(None, Flag.UNPARSABLE, retries, "no text in the reply")
        score = parse_judge_reply(text)
        if score is None:
            stop_reason = response.get("stopReason") if isinstance(response, dict) else None
            return Verdict(None, Flag.UNPARSABLE, retries, f"stopReason {stop_reason}: {describe_value(text, 120)}")
        return Verdict(score, None, retries)

    # ---- the client ----

    def _client(self, deadline: Deadline) -> Any:
        """A bedrock-runtime client whose read timeout fits the time left (at least 1 s; whole seconds unless
        callTimeoutSeconds is less, so the batches of warm invocations share one client)."""
        read_timeout = min(self.call_timeout, float(max(1, math.floor(min(deadline.remaining(), 900.0)))))
        connect_timeout = min(CONNECT_TIMEOUT_SECONDS, read_timeout)
        key = (connect_timeout, read_timeout)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._clients[key] = self._client_factory(connect_timeout, read_timeout,
                                                                   self.max_concurrency)
            return client

    def _boto3_client(self, connect_timeout: float, read_timeout: float, pool: int) -> Any:
        import boto3
        from botocore.config import Config

        if self._session is None:
            self._session = boto3.session.Session()
        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None
        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            # Standard mode classifies errors; this task retries itself, each retry checked against the
            # deadline (botocore's own retries would sleep without knowing it).
            retries={"mode": "standard", "total_max_attempts": 1},
            max_pool_connections=pool,
            user_agent_extra="bedrock-rft-llm-judge",
        )
        return self._session.client("bedrock-runtime", region_name=region, config=config)

    def _log_failures(self, verdicts: list[Verdict]) -> None:
        by_flag: dict[str, dict[str, int]] = {}
        for verdict in verdicts:
            reasons = by_flag.setdefault(verdict.flag or "", {})
            reasons[verdict.reason] = reasons.get(verdict.reason, 0) + 1
        for flag, reasons in sorted(by_flag.items()):
            common = sorted(reasons.items(), key=lambda item: -item[1])[:5]
            _LOG.warning("llm-judge: %d judge calls gave the neutral reward (%s): %s", sum(reasons.values()), flag,
                         "; ".join(f"{count} x {reason[:200]}" for reason, count in common))


def _error_code(error: BaseException) -> tuple[str, int | None]:
    """(error code, HTTP status) of a botocore ClientError."""
    response = getattr(error, "response", None)
    response = response if isinstance(response, dict) else {}
    code = (response.get("Error") or {}).get("Code") or "ClientError"
    status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
    return str(code), status if isinstance(status, int) else None


def _format_number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {str(error)[:200]}"


def configure(options: Mapping[str, Any]) -> LlmJudge:
    return LlmJudge(options)

