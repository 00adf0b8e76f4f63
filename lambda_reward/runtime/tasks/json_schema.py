"""JSON Schema: the answer is JSON that validates against a JSON Schema, scored by the reference's fields.

The answer (bare, or as the one fenced code block it consists of) must parse as strict JSON (no
duplicate keys, no NaN or Infinity, bounded size and nesting) and validate against the record's
``schema`` field, or the task option ``schema`` (``jsonschema``, Draft 2020-12 unless the schema's
``$schema`` names another draft). With ``matchReference`` (the default) a valid answer earns the
share of the reference's leaf fields it reproduces; without it, validating earns 1.0.
docs/tasks/json-schema.md gives the record fields, the options and the decisions.

Schemas come from the team's own data, but nothing in them reaches outside: a ``$ref`` is resolved
inside the schema (and the JSON Schema meta-schemas) only, never fetched, and a ``pattern`` is
searched with a time limit. Each distinct schema is compiled once (keyed by its canonical JSON), so
the samples of a GRPO group share one validator.
"""

from __future__ import annotations

import datetime
import json
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, Final

import jsonschema  # type: ignore[import-untyped, unused-ignore]
import jsonschema_specifications  # type: ignore[import-untyped, unused-ignore]
import referencing
import referencing.exceptions
import referencing.jsonschema
import regex

from lambda_reward.runtime.samples import MISSING, ParsedSample, describe_value
from lambda_reward.runtime.tasks import Deadline, Malformed, Score, TaskError, TaskFailure, field_of
from lambda_reward.runtime.tasks._json import StrictJsonError, loads_strict as _loads_json, raw_decode_strict

# Used loosely (jsonschema ships no types; types-jsonschema, when present, types validator_for's default
# too narrowly for the None this module passes to tell an unknown $schema).
_validators: Any = jsonschema.validators

DESCRIPTION: Final = (
    "The answer is JSON that validates against a JSON Schema; with a reference, scored by the share of its fields"
)

SCHEMA_FIELD: Final = "schema"
REFERENCE_FIELD: Final = "reference_answer"
# reference_answer may carry both: {"schema": {...}, "json": <the reference>} (exactly these keys).
WRAPPED_SCHEMA_KEY: Final = "schema"
WRAPPED_JSON_KEY: Final = "json"

# A pattern search that runs longer than this fails the pattern (catastrophic backtracking).
PATTERN_TIMEOUT_SECONDS: Final = 0.1
# Schemas compiled per scorer; a training set holds a handful of distinct schemas, a GRPO group one.
SCHEMA_CACHE_SIZE: Final = 512
# Fenced code block languages that hold JSON ("" is a fence without a language).
JSON_FENCE_LANGUAGES: Final = frozenset({"", "json"})
# Answers that satisfy a careless schema without saying anything: a record on which one of these
# passes teaches the model to say nothing (check_record reports it). With a reference, only the
# empty ones (a reference of true or 0 is an answer like any other, not an empty one).
TRIVIAL_ANSWERS: Final[tuple[Any, ...]] = ({}, [], "", 0, None, True, False)
EMPTY_ANSWERS: Final[tuple[Any, ...]] = ({}, [], "")


class Metric:
    """Names of this task's metrics_list entries."""

    VALID_JSON: Final = "valid_json"  # 1: the answer parsed as (strict) JSON
    SCHEMA_VALID: Final = "schema_valid"  # 1: ... and validated against the schema
    FIELD_MATCH: Final = "field_match"  # share of the reference's fields matched (only with a reference)
    # Present (1) only on the answers they describe.
    NOT_JSON: Final = "not_json"  # no JSON where JSON was expected
    PROSE: Final = "prose"  # JSON with text around it, and allowProse is off
    SEVERAL_FENCES: Final = "several_fences"  # more than one fenced code block: which one is the answer?
    TOO_LARGE: Final = "too_large"  # longer than maxChars
    TOO_DEEP: Final = "too_deep"  # nested deeper than maxDepth
    DUPLICATE_KEY: Final = "duplicate_key"  # an object names a key twice
    NON_FINITE: Final = "non_finite"  # NaN, Infinity, or a number too large for a double (1e999)
    PATTERN_TIMEOUT: Final = "pattern_timeout"  # a schema pattern ran out of time on the answer


TIMED_OUT_FLAG: Final = "timed_out"  # the invocation's deadline passed before this sample was scored

OPTIONS: Final = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "schema": {
            "type": ["object", "boolean", "null"], "default": None,
            "description": "the JSON Schema of every record without its own 'schema' field",
        },
        "matchReference": {
            "type": "boolean", "default": True,
            "description": "score a valid answer by the share of the reference_answer's fields it matches "
                           "(every record then needs a reference_answer); false: validating earns 1.0",
        },
        "schemaShare": {
            "type": "number", "minimum": 0, "maximum": 1, "default": 0,
            "description": "with matchReference, the share of the reward validating earns; "
                           "the field match earns the rest",
        },
        "stringMatch": {
            "enum": ["exact", "normalized", "casefold"], "default": "normalized",
            "description": "how strings are compared with the reference: as they are; NFKC with runs of "
                           "whitespace as one space and none at the ends; that and case folded",
        },
        "allowProse": {
            "type": "boolean", "default": False,
            "description": "accept text around the JSON (or around its one fenced code block)",
        },
        "checkFormats": {
            "type": "boolean", "default": False,
            "description": "assert the schema's format keywords (date, date-time, time, email, idn-email, "
                           "ipv4, ipv6, uuid, regex); otherwise they are annotations, as the standard says",
        },
        "maxChars": {
            "type": "integer", "minimum": 2, "maximum": 1_000_000, "default": 50_000,
            "description": "longer answers score 0.0 unread",
        },
        "maxDepth": {
            "type": "integer", "minimum": 1, "maximum": 64, "default": 32,
            "description": "answers nesting arrays and objects deeper score 0.0",
        },
    },
}


# ---------------------------------------------------------------------------------------
# Reading the answer's JSON
# ---------------------------------------------------------------------------------------


# The task's own reasons ride on the shared strict decoder's error, whose reasons are this task's
# metric names (duplicate_key, non_finite, too_deep).
_Rejected = StrictJsonError


def loads_strict(text: str, max_depth: int) -> Any:
    """``text`` as strict JSON: raises ``_Rejected`` (with its reason) or ValueError when it is not."""
    value = _loads_json(text)
    if nesting_exceeds(value, max_depth):
        raise _Rejected(Metric.TOO_DEEP)
    return value


def nesting_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests arrays and objects more than ``limit`` deep (``{"a": [1]}`` is 2)."""
    if not isinstance(value, (dict, list)):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    pop, push = stack.pop, stack.append
    while stack:
        container, depth = pop()
        if depth > limit:
            return True
        for child in container.values() if isinstance(container, dict) else container:
            if isinstance(child, (dict, list)):
                push((child, depth + 1))
    return False


@dataclass(frozen=True, slots=True)
class _Fence:
    language: str  # lowercased
    body: str
    start: int  # offset of the opening fence line
    end: int  # offset just past the closing fence line


def fenced_blocks(text: str) -> list[_Fence]:
    """The closed ```-fenced code blocks of ``text``, in order (a fence left open is no block).

    A fence is a line of three or more backticks (indentation allowed), the opening one optionally
    followed by a language; the block ends at a line of at least as many backticks and nothing else.
    """
    blocks: list[_Fence] = []
    opening: tuple[int, str, int, int] | None = None  # (backticks, language, body start, fence start)
    position = 0
    for line in text.split("\n"):
        end = position + len(line)
        stripped = line.strip()
        if stripped.startswith("```"):
            ticks = len(stripped) - len(stripped.lstrip("`"))
            rest = stripped[ticks:].strip()
            if opening is None:
                if "`" not in rest:
                    opening = (ticks, rest.lower(), end + 1, position)
            elif not rest and ticks >= opening[0]:
                blocks.append(_Fence(opening[1], text[opening[2] : position], opening[3], end))
                opening = None
        position = end + 1
    return blocks


def _embedded(text: str, max_depth: int) -> Any:
    """The JSON object or array starting at the first ``{`` (or else the first ``[``) of prose."""
    starts = sorted(index for index in (text.find("{"), text.find("[")) if index >= 0)
    failure: Exception = ValueError("no { or [")
    for start in starts:
        try:
            value, _ = raw_decode_strict(text, start)
        except _Rejected:
            raise
        except ValueError as error:
            failure = error
            continue
        if nesting_exceeds(value, max_depth):
            raise _Rejected(Metric.TOO_DEEP)
        return value
    raise failure


def extract_json(answer: str, *, allow_prose: bool = False, max_chars: int = 50_000, max_depth: int = 32) -> Any:
    """The JSON value an answer gives, or raise ``_Rejected`` naming why it gives none.

    Accepted: the whole answer as JSON, or exactly one fenced code block (language ``json`` or none)
    that is the whole answer; whitespace and a byte order mark around either are ignored. With
    ``allow_prose``, text may surround the JSON or its one block; without a block the JSON is then
    the answer's first object or array (from its first ``{``, else its first ``[``). Several blocks
    are always rejected: an answer does not get to offer candidates.
    """
    if len(answer) > max_chars:
        raise _Rejected(Metric.TOO_LARGE)
    text = answer.strip()
    if text.startswith("\ufeff"):
        text = text.lstrip("\ufeff").strip()
    if not text:
        raise _Rejected(Metric.NOT_JSON)
    blocks = fenced_blocks(text) if "```" in text else []
    if len(blocks) > 1:
        raise _Rejected(Metric.SEVERAL_FENCES)
    if blocks:
        block = blocks[0]
        if not allow_prose and (text[: block.start].strip() or text[block.end :].strip()):
            raise _Rejected(Metric.PROSE)
        if block.language not in JSON_FENCE_LANGUAGES:
            raise _Rejected(Metric.NOT_JSON)
        body = block.body.strip()
        try:
            return loads_strict(body, max_depth)
        except _Rejected:
            raise
        except ValueError:
            raise _Rejected(Metric.NOT_JSON) from None
    try:
        return loads_strict(text, max_depth)
    except _Rejected:
        raise
    except ValueError:
        pass
    try:
        value = _embedded(text, max_depth)
    except _Rejected:
        if not allow_prose:
            raise _Rejected(Metric.NOT_JSON) from None
        raise
    except ValueError:
        raise _Rejected(Metric.NOT_JSON) from None
    if not allow_prose:
        raise _Rejected(Metric.PROSE)  # there is JSON, but with text around it
    return value


# ---------------------------------------------------------------------------------------
# Compiling schemas
# ---------------------------------------------------------------------------------------


class _PatternTimeout(jsonschema.ValidationError):  # type: ignore[misc, unused-ignore]
    """A ``pattern`` search ran out of time: the string fails the pattern."""


def _pattern_keyword(validator: Any, pattern: Any, instance: Any, schema: Any) -> Iterator[Any]:
    """``pattern`` with a time limit (the ``regex`` module; jsonschema's own uses ``re``, unbounded)."""
    if not validator.is_type(instance, "string"):
        return
    try:
        found = regex.search(pattern, instance, timeout=PATTERN_TIMEOUT_SECONDS) is not None
    except TimeoutError:
        yield _PatternTimeout(
            f"pattern {pattern!r} took over {PATTERN_TIMEOUT_SECONDS} s on a string of {len(instance)} characters"
        )
        return
    except regex.error:  # valid for re (check_schema compiled it) but not for regex
        found = re.search(pattern, instance) is not None
    if not found:
        yield jsonschema.ValidationError(f"{describe_value(instance)} does not match {pattern!r}")


@cache
def _hardened(base: Any) -> Any:
    """A draft's validator class with the time-limited ``pattern``."""
    return _validators.extend(base, {"pattern": _pattern_keyword})


def _refuse_retrieval(uri: str) -> referencing.Resource[Any]:
    """Registry retrieval: nothing is fetched, from the network or anywhere else."""
    raise referencing.exceptions.NoSuchResource(ref=uri)  # type: ignore[call-arg, unused-ignore]


# The schema's own resources and the JSON Schema meta-schemas: everything a $ref may reach.
_NO_RETRIEVAL: Final[referencing.Registry[Any]] = referencing.Registry(
    retrieve=_refuse_retrieval,  # type: ignore[call-arg, unused-ignore]
)
_REGISTRY: Final[referencing.Registry[Any]] = jsonschema_specifications.REGISTRY.combine(_NO_RETRIEVAL)

_RFC3339_TIME = r"(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|[+-](\d{2}):(\d{2}))"
_DATE_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})[Tt]" + _RFC3339_TIME, re.ASCII)
_TIME = re.compile(_RFC3339_TIME, re.ASCII)
# Formats jsonschema checks with the standard library alone: the same in the Lambda (whose asset has
# none of jsonschema's optional format packages) as on a developer's machine (which may have some).
_STDLIB_FORMATS: Final = ("date", "email", "idn-email", "ipv4", "ipv6", "regex", "uuid")


def _valid_time(match: re.Match[str], first: int) -> bool:
    hour, minute, second, offset_hour, offset_minute = match.groups()[first : first + 5]
    return (int(hour) <= 23 and int(minute) <= 59 and int(second) <= 60  # 60: a leap second
            and (offset_hour is None or (int(offset_hour) <= 23 and int(offset_minute) <= 59)))


def is_date_time(instance: object) -> bool:
    """RFC 3339 date-time (``2025-03-05T09:30:00Z``, an offset required); non-strings pass."""
    if not isinstance(instance, str):
        return True
    match = _DATE_TIME.fullmatch(instance)
    if match is None or not _valid_time(match, 1):
        return False
    try:
        datetime.date.fromisoformat(match[1])
    except ValueError:
        return False
    return True


def is_time(instance: object) -> bool:
    """RFC 3339 full-time (``09:30:00+09:00``); non-strings pass."""
    if not isinstance(instance, str):
        return True
    match = _TIME.fullmatch(instance)
    return match is not None and _valid_time(match, 0)


def _format_checker() -> Any:
    checker = jsonschema.FormatChecker(formats=_STDLIB_FORMATS)
    checker.checks("date-time")(is_date_time)
    checker.checks("time")(is_time)
    return checker


_FORMAT_CHECKER: Final = _format_checker()


def _error_text(error: Any, width: int = 200) -> str:
    """A jsonschema error as one line: the message and where (``at items.0.price``)."""
    message = str(error.message)
    if len(message) > width:
        message = message[:width] + "..."
    where = ".".join(str(part) for part in error.absolute_path)
    return f"{message} (at {where})" if where else message


@dataclass(frozen=True, slots=True)
class CompiledSchema:
    """A checked schema's validator."""

    validator: Any

    def first_error(self, instance: Any) -> Any:
        """The first way ``instance`` breaks the schema, or None (raises Unresolvable for a bad $ref)."""
        return next(self.validator.iter_errors(instance), None)

    def best_error(self, instance: Any) -> Any:
        """The most relevant way ``instance`` breaks the schema, or None (for messages)."""
        return jsonschema.exceptions.best_match(self.validator.iter_errors(instance))


def compile_schema(schema: Any, *, check_formats: bool = False) -> CompiledSchema | str:
    """The validator of ``schema``, or why it is not a usable schema (a sentence, no field name).

    ``schema`` is a JSON Schema (an object or a boolean) or JSON text of one. It must be valid for
    its draft (its ``$schema``, Draft 2020-12 when it names none) and every ``$ref`` in it must
    resolve within it or to a JSON Schema meta-schema.
    """
    if isinstance(schema, str):
        try:
            schema = loads_strict(schema, 64)
        except ValueError as error:
            reason = error.reason if isinstance(error, _Rejected) else str(error)
            return f"is a string that is not JSON text of a schema ({reason})"
    if not isinstance(schema, (dict, bool)):
        return f"must be a JSON Schema (an object or a boolean), got {describe_value(schema)}"
    base: Any = jsonschema.Draft202012Validator
    if isinstance(schema, dict) and "$schema" in schema:
        dialect = schema["$schema"]
        if not isinstance(dialect, str):
            return f"$schema must be a string (a draft's meta-schema URI), got {describe_value(dialect)}"
        base = _validators.validator_for(schema, default=None)
        if base is None:
            return (f"$schema {describe_value(dialect)} is no JSON Schema draft jsonschema knows "
                    "(e.g. https://json-schema.org/draft/2020-12/schema)")
    try:
        base.check_schema(schema)
        validator = _hardened(base)(
            schema, registry=_NO_RETRIEVAL, format_checker=_FORMAT_CHECKER if check_formats else None
        )
        unresolvable = _unresolvable_reference(base, schema)
        if unresolvable is None:
            for trial in TRIVIAL_ANSWERS:  # a $ref loop ({"$ref": "#"}) recurses for every answer
                try:
                    next(validator.iter_errors(trial), None)
                except RecursionError:
                    return f"recurses without end when validating {json.dumps(trial)} (a $ref loop?)"
    except jsonschema.exceptions.SchemaError as error:
        return f"is not a valid JSON Schema ({_draft_name(base)}): {_error_text(error)}"
    except RecursionError:
        return "nests too deeply to be checked"
    except Exception as error:  # noqa: BLE001 - e.g. an $id that is no URI ("http://[x"): data, never a crash
        return f"cannot be used as a schema: {type(error).__name__}: {describe_value(str(error), 120)}"
    if unresolvable is not None:
        keyword, reference = unresolvable
        return (f"{keyword} {describe_value(reference)} does not resolve within the schema "
                "(remote references are never fetched: put what it names under $defs)")
    return CompiledSchema(validator)


def _draft_name(base: Any) -> str:
    """``Draft202012Validator`` -> ``Draft 2020-12``, ``Draft7Validator`` -> ``Draft 7``."""
    version = str(base.__name__).removesuffix("Validator").removeprefix("Draft")
    return "Draft " + (f"{version[:4]}-{version[4:]}" if len(version) == 6 else version)


def _unresolvable_reference(base: Any, schema: Any) -> tuple[str, str] | None:
    """(keyword, value) of the first ``$ref``, ``$dynamicRef`` or ``$recursiveRef`` that does not resolve."""
    specification = referencing.jsonschema.specification_with(
        base.META_SCHEMA.get("$schema", ""), default=referencing.jsonschema.DRAFT202012
    )
    root = specification.create_resource(schema)
    pending = [(_REGISTRY.resolver_with_root(root), root)]
    while pending:
        resolver, resource = pending.pop()
        resolver = resolver.in_subresource(resource)
        contents = resource.contents
        if isinstance(contents, dict):
            for keyword in ("$ref", "$dynamicRef", "$recursiveRef"):
                reference = contents.get(keyword)
                if isinstance(reference, str):
                    try:
                        resolver.lookup(reference)
                    except referencing.exceptions.Unresolvable:
                        return keyword, reference
        pending.extend((resolver, sub) for sub in resource.subresources())
    return None


class SchemaCache:
    """Compiled schemas by their canonical JSON (a bounded cache: the oldest entry goes first)."""

    def __init__(self, check_formats: bool, size: int = SCHEMA_CACHE_SIZE) -> None:
        self.check_formats = check_formats
        self.size = size
        self._entries: dict[str, CompiledSchema | str] = {}
        self._last: tuple[Any, CompiledSchema | str] | None = None

    def get(self, schema: Any) -> CompiledSchema | str:
        last = self._last
        if last is not None and last[0] is schema:  # the same object again (a test's or a caller's)
            return last[1]
        if isinstance(schema, str):
            key = "t" + schema
        else:
            try:
                key = "j" + json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            except (TypeError, ValueError, RecursionError):
                key = ""  # no canonical form: compile_schema says why
        compiled = self._entries.get(key) if key else None
        if compiled is None:
            compiled = compile_schema(schema, check_formats=self.check_formats)
            if key:
                if len(self._entries) >= self.size:
                    del self._entries[next(iter(self._entries))]
                self._entries[key] = compiled
        self._last = (schema, compiled)
        return compiled

    def clear(self) -> None:
        self._entries.clear()
        self._last = None


# ---------------------------------------------------------------------------------------
# Matching the reference
# ---------------------------------------------------------------------------------------


def _exact(text: str) -> str:
    return text


def _normalized(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())


def _casefold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


STRING_FORMS: Final[Mapping[str, Callable[[str], str]]] = {
    "exact": _exact, "normalized": _normalized, "casefold": _casefold,
}


def field_match(reference: Any, answer: Any, string_form: Callable[[str], str] = _normalized) -> float:
    """The share of the reference's fields the answer reproduces, in [0, 1].

    The fields are the reference's leaves: each string, number, boolean and null, and each empty
    object or array, by its path (object key, array position). A leaf matches when the answer has
    the same JSON type and value at the same path: numbers by value (5 equals 5.0, never true),
    strings after ``string_form``. An answer's array items beyond the reference's count as fields
    missed (a longer list is a different list); keys the reference lacks are the schema's business.
    """
    matched = total = 0
    stack: list[tuple[Any, Any]] = [(reference, answer)]
    pop, push = stack.pop, stack.append
    while stack:
        expected, given = pop()
        if isinstance(expected, dict):
            if not expected:
                total += 1
                matched += isinstance(given, dict) and not given
                continue
            if isinstance(given, dict):
                for key, value in expected.items():
                    push((value, given.get(key, MISSING)))
            else:
                for value in expected.values():
                    push((value, MISSING))
        elif isinstance(expected, list):
            if not expected:
                total += 1
                matched += isinstance(given, list) and not given
                continue
            if isinstance(given, list):
                for index, value in enumerate(expected):
                    push((value, given[index] if index < len(given) else MISSING))
                total += max(len(given) - len(expected), 0)
            else:
                for value in expected:
                    push((value, MISSING))
        else:
            total += 1
            matched += _same_leaf(expected, given, string_form)
    return matched / total


def _same_leaf(expected: Any, given: Any, string_form: Callable[[str], str]) -> bool:
    if isinstance(expected, str):
        return isinstance(given, str) and (expected == given or string_form(expected) == string_form(given))
    if isinstance(expected, bool) or expected is None:
        return given is expected
    if isinstance(expected, (int, float)):
        return isinstance(given, (int, float)) and not isinstance(given, bool) and expected == given
    return False


# ---------------------------------------------------------------------------------------
# The task
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordParts:
    """Where a record's (or a sample's) schema and reference are, with the names used in messages."""

    schema: Any  # MISSING: none of its own
    schema_name: str
    reference: Any  # MISSING: none
    reference_name: str


def record_parts(get: Callable[[str], Any]) -> RecordParts:
    """A record's schema and reference, read with ``get(field)`` (None: absent).

    The schema is the ``schema`` field, else ``reference_answer.schema`` when ``reference_answer`` is
    the wrapped form ``{"schema": ..., "json": ...}`` (an object with ``schema`` and no key but these
    two), whose ``json`` is then the reference; otherwise ``reference_answer`` itself is.
    """
    schema = get(SCHEMA_FIELD)
    reference = get(REFERENCE_FIELD)
    if (schema is None and isinstance(reference, dict) and WRAPPED_SCHEMA_KEY in reference
            and reference.keys() <= {WRAPPED_SCHEMA_KEY, WRAPPED_JSON_KEY}):
        wrapped = reference.get(WRAPPED_JSON_KEY)  # null is absent, as for every field
        return RecordParts(
            reference[WRAPPED_SCHEMA_KEY], f"{REFERENCE_FIELD}.{WRAPPED_SCHEMA_KEY}",
            MISSING if wrapped is None else wrapped, f"{REFERENCE_FIELD}.{WRAPPED_JSON_KEY}",
        )
    return RecordParts(
        MISSING if schema is None else schema, SCHEMA_FIELD,
        MISSING if reference is None else reference, REFERENCE_FIELD,
    )


@lru_cache(maxsize=65536)
def _result(reward: float, valid_json: bool, schema_valid: bool, match: float | None,
            reason: str | None = None) -> Score:
    metrics: dict[str, float] = {Metric.VALID_JSON: int(valid_json), Metric.SCHEMA_VALID: int(schema_valid)}
    if match is not None:
        metrics[Metric.FIELD_MATCH] = match
    if reason is not None:
        metrics[reason] = 1
    # Passed: valid and every field matched (not reward >= 1.0: with schemaShare near 1 a partial
    # match can round up to 1.0).
    return Score(reward, metrics, passed=schema_valid and (match is None or match == 1.0))


_TIMED_OUT: Final = Score(0.0, {}, flag=TIMED_OUT_FLAG)


class JsonSchema:
    """The configured task: scores a batch (one validator per distinct schema) and checks records."""

    PASS_AT: Final = 1.0

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.match_reference = bool(options["matchReference"])
        self.schema_share = float(options["schemaShare"])
        self.string_form = STRING_FORMS[options["stringMatch"]]
        self.allow_prose = bool(options["allowProse"])
        self.max_chars = int(options["maxChars"])
        self.max_depth = int(options["maxDepth"])
        self.schemas = SchemaCache(bool(options["checkFormats"]))
        self.default_schema: Any = options["schema"]
        if self.default_schema is not None:
            compiled = self.schemas.get(self.default_schema)
            if isinstance(compiled, str):
                raise TaskError([f"task json-schema: option schema {compiled}"])

    # -- scoring ----------------------------------------------------------------------

    def score_batch(self, samples: list[ParsedSample], deadline: Deadline | None = None) -> list[Any]:
        scores: list[Any] = []
        append = scores.append
        for sample in samples:
            if deadline is not None and deadline.expired:
                append(_TIMED_OUT)
                continue
            try:
                append(self.score_sample(sample))
            except Exception as error:  # noqa: BLE001 - a bug costs one sample, never the batch
                append(TaskFailure(f"{type(error).__name__}: {error}"))
        return scores

    def score_sample(self, sample: ParsedSample) -> Score | Malformed:
        parts = record_parts(sample.field)
        compiled = self._compiled(parts)
        if isinstance(compiled, Malformed):
            return compiled
        reference = parts.reference if self.match_reference else MISSING
        if self.match_reference and reference is MISSING:
            return Malformed(f"no {REFERENCE_FIELD} to match (matchReference is on): the record needs one")
        try:
            value = extract_json(
                sample.answer, allow_prose=self.allow_prose, max_chars=self.max_chars, max_depth=self.max_depth
            )
        except _Rejected as rejected:
            return _result(0.0, False, False, None if reference is MISSING else 0.0, rejected.reason)
        try:
            return self.score_value(value, compiled, reference)
        except referencing.exceptions.Unresolvable as error:
            return Malformed(f"{parts.schema_name}: a reference does not resolve: {error}")
        except RecursionError:  # the answer nests at most maxDepth (<= 64): the schema loops
            return Malformed(f"{parts.schema_name} recursed without end on this answer (a $ref loop?)")

    def score_value(self, value: Any, compiled: CompiledSchema, reference: Any) -> Score:
        """The score of an answer's JSON ``value`` (``reference`` MISSING: schema validity only)."""
        error = compiled.first_error(value)
        match = None if reference is MISSING else field_match(reference, value, self.string_form)
        if error is not None:
            reason = Metric.PATTERN_TIMEOUT if isinstance(error, _PatternTimeout) else None
            return _result(0.0, True, False, match, reason)
        if match is None or match == 1.0:  # (exactly 1.0: share + (1 - share) x 1.0 may round below it)
            return _result(1.0, True, True, match)
        return _result(self.schema_share + (1.0 - self.schema_share) * match, True, True, match)

    def _compiled(self, parts: RecordParts) -> CompiledSchema | Malformed:
        if parts.schema is MISSING:
            if self.default_schema is None:
                return Malformed(f"no schema: no '{SCHEMA_FIELD}' field (nor {REFERENCE_FIELD}.{WRAPPED_SCHEMA_KEY}) "
                                 "and the task option schema is not set")
            compiled = self.schemas.get(self.default_schema)
            name = "option schema"
        else:
            compiled = self.schemas.get(parts.schema)
            name = parts.schema_name
        return Malformed(f"{name} {compiled}") if isinstance(compiled, str) else compiled

    # -- the dataset check --------------------------------------------------------------

    def check_record(self, record: dict[str, Any]) -> list[str]:
        """What stops this record from being scored as configured, each naming the field."""
        parts = record_parts(lambda name: field_of(record, name))
        compiled = self._compiled(parts)
        if isinstance(compiled, Malformed):
            return [compiled.reason]
        reference = parts.reference if self.match_reference else MISSING
        if self.match_reference and reference is MISSING:
            return [f"{parts.reference_name} is missing: matchReference is on, so each record needs the JSON "
                    "the model should give (or set the task option matchReference to false)"]
        problems: list[str] = []
        if reference is not MISSING:
            if nesting_exceeds(reference, self.max_depth):
                problems.append(f"{parts.reference_name} nests deeper than maxDepth ({self.max_depth}): "
                                "no answer could match it")
            try:
                error = compiled.best_error(reference)
            except referencing.exceptions.Unresolvable as unresolvable:
                return [f"{parts.schema_name}: a reference does not resolve: {unresolvable}"]
            except RecursionError:
                return [f"{parts.schema_name} recursed without end validating {parts.reference_name} "
                        "(a $ref loop?)"]
            if error is not None:
                problems.append(f"{parts.reference_name} does not validate against {parts.schema_name}: "
                                f"{_error_text(error)}")
        if not problems:
            problems.extend(self._trivial_passes(compiled, reference, parts.schema_name))
        return problems

    def _trivial_passes(self, compiled: CompiledSchema, reference: Any, schema_name: str) -> list[str]:
        for trivial in TRIVIAL_ANSWERS if reference is MISSING else EMPTY_ANSWERS:
            try:
                score = self.score_value(trivial, compiled, reference)
            except (referencing.exceptions.Unresolvable, RecursionError):
                continue  # not a pass, and compile_schema has tried these answers already
            reward = score.reward
            if score.passed:
                shown = json.dumps(trivial)
                why = (f"{schema_name} accepts it" if reference is MISSING
                       else f"{REFERENCE_FIELD} is {shown} too")
                return [f"the trivial answer {shown} scores {reward:g}: {why}; the model would learn to "
                        "say nothing (require the properties the prompt asks for)"]
        return []

    def clear_caches(self) -> None:
        """Forget compiled schemas (keeping the option's), as in a fresh Lambda container."""
        self.schemas.clear()
        if self.default_schema is not None:
            self.schemas.get(self.default_schema)


def configure(options: Mapping[str, Any]) -> JsonSchema:
    return JsonSchema(options)
