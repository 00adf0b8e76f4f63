"""Function calls compared with the reference at the AST level, partial credit per call (BFCL style).

The reference is the sample's ``ground_truth`` as AWS's BFCL sample reads it (top level or
``metadata``, else ``reference_answer.ground_truth``, else a ``reference_answer`` that is itself a
call or a list of calls): a Python-style call string ``get_weather(city="Paris")``, a list string
``[f(a=1), g(b=2)]``, a JSON-encoded list of call strings (what AWS's exporter writes for several
calls), a list of call strings, JSON calls ``{"name": ..., "arguments": {...}}``, or BFCL's
possible-answer objects ``{"f": {"a": [1, 2], "b": ["", 3]}}`` (each argument's acceptable
values; ``""`` marks it optional).

The answer is read, in this order of precedence, from the last assistant message's structured tool
calls (OpenAI ``tool_calls``, Converse ``toolUse`` blocks, ``tool_use`` blocks), from GPT-OSS
harmony ``to=functions.<name>`` messages, else from its text: ``<tool_call>`` blocks (Qwen, Hermes),
else fenced code blocks, else the whole text; each holds Python calls (one per line, a list or a
tuple of calls) or JSON calls. Text is parsed with ``ast`` only, never evaluated: an argument value
must be a literal (number, string, boolean, None, list, tuple, dict, a negative number, and JSON's
``true``/``false``/``null``), anything else is kept as a value that matches nothing.

Scoring, per reference call, against the answer call assigned to it (best total, any order; or by
position with ``order: strict``): ``nameWeight`` for the function name plus the rest for the
arguments, where each reference argument earns 1 for a matching value, ``keyCredit`` for the right
name with a wrong value, 0 when missing, and each argument the reference does not have counts as
one more with 0. An argument left out, or given though the reference lacks it, costs nothing when
its value is the default the sample's ``tools`` document. A call to the wrong function earns at
most ``wrongNameCap`` (0.5). The reward is the sum over reference calls divided by the larger of
the number of reference calls and the number of answer calls (unreadable segments count as
calls), so missing calls score 0 and spraying extra calls costs as much. docs/tasks/tool-call.md
has the details.
"""

from __future__ import annotations

import ast
import json
import math
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from lambda_reward.runtime.samples import ASSISTANT_ROLES, ParsedSample, describe_value
from lambda_reward.runtime.tasks import Malformed, Score, TaskFailure
from lambda_reward.runtime.tasks._json import loads_strict

DESCRIPTION: Final = "function calls compared with the ground truth at the AST level, partial credit per call"

GROUND_TRUTH_FIELD: Final = "ground_truth"
REFERENCE_ANSWER_FIELD: Final = "reference_answer"
TOOLS_FIELD: Final = "tools"
# Where AWS's exporter (the Bedrock format) keeps the function definitions.
TOOL_DEFINITIONS_FIELD: Final = "tool_definitions"

# A value nested deeper than this (a list in a list in ...) is not read as a literal.
MAX_VALUE_DEPTH: Final = 32
# A reference longer than this is not read (no training record needs one).
MAX_REFERENCE_CHARS: Final = 100_000
MAX_REFERENCE_CALLS: Final = 64


class Metric:
    """Names of this task's metrics_list entries."""

    CALLS_EXPECTED: Final = "calls_expected"  # calls in the reference
    CALLS_FOUND: Final = "calls_found"  # calls read from the answer
    CALLS_CORRECT: Final = "calls_correct"  # reference calls matched exactly
    UNPARSED: Final = "unparsed"  # segments of the answer that are not calls
    NAME_MATCH: Final = "name_match"  # share of reference calls answered with the right function
    ARG_MATCH: Final = "arg_match"  # mean argument share over the reference calls
    # Present (1) only on the answers they describe; each scored 0.0.
    NO_CALLS: Final = "no_calls"
    ANSWER_TOO_LONG: Final = "answer_too_long"
    TOO_MANY_CALLS: Final = "too_many_calls"


OPTIONS: Final = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "order": {"enum": ["any", "strict"], "default": "any",
                  "description": "any: each reference call takes its best answer call; strict: by position"},
        "stringMatch": {"enum": ["exact", "normalized", "loose"], "default": "normalized",
                        "description": "exact; normalized: NFKC, case folded, whitespace collapsed; "
                                       "loose: normalized without spaces and punctuation (BFCL's checker)"},
        "coerceTypes": {"type": "boolean", "default": True,
                        "description": "a numeric string matches its number (\"5\" and 5), \"true\" matches true"},
        "nameWeight": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.33,
                       "description": "share of a call's score for the function name; the rest is arguments"},
        "keyCredit": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5,
                      "description": "credit of an argument given by the right name with a wrong value"},
        "wrongNameCap": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5,
                         "description": "most a call to the wrong function can score"},
        "dotEqualsUnderscore": {"type": "boolean", "default": True,
                                "description": "math.sqrt and math_sqrt name the same function"},
        "penalizeUnparsed": {"type": "boolean", "default": True,
                             "description": "a segment of the answer that is not a call counts as an extra call"},
        "maxAnswerChars": {"type": "integer", "minimum": 256, "maximum": 1_000_000, "default": 20_000,
                           "description": "a longer answer scores 0.0 unread (answer_too_long)"},
        "maxCalls": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 64,
                     "description": "an answer with more calls or segments scores 0.0 (too_many_calls)"},
    },
}


# ---------------------------------------------------------------------------------------
# Calls and values
# ---------------------------------------------------------------------------------------


class _NotLiteral:
    """An argument value that is not a literal (a name, an expression, a call): it matches nothing."""

    def __repr__(self) -> str:
        return "<not a literal>"


NOT_LITERAL: Final[Any] = _NotLiteral()
# Keys of arguments that have no name of their own: positional ones are "#0", "#1"...
UNPACKED_KEY: Final = "**"
STARRED_KEY: Final = "*"


def positional_key(index: int) -> str:
    return f"#{index}"


@dataclass(frozen=True, slots=True)
class Call:
    """A function call read from an answer: its name and its arguments (positional ones keyed #0, #1...)."""

    name: str
    args: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class RefCall:
    """A reference call: each argument's acceptable values (empty: any value) and which may be left out."""

    name: str
    args: Mapping[str, tuple[Any, ...]]
    optional: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ParsedAnswer:
    calls: tuple[Call, ...]
    unparsed: int = 0
    problem: str | None = None  # Metric.ANSWER_TOO_LONG or Metric.TOO_MANY_CALLS


def _parse_python(source: str) -> ast.Module | None:
    """``source`` as a module's syntax tree, or None. Never compiles or runs it; any failure of the parser
    (syntax, null bytes, digit limits, nesting too deep for the parser) is None. Invalid escape
    sequences warn at parse time: those warnings are silenced here."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(source, filename="<answer>", mode="exec")
    except (SyntaxError, ValueError, TypeError, OverflowError, RecursionError, MemoryError):
        return None


def _literal(node: ast.AST, depth: int = 0) -> Any:
    """The value of a literal expression, or NOT_LITERAL. Tuples become lists; JSON's true, false and
    null are read as Python's. Iterative in spirit: the depth is bounded by MAX_VALUE_DEPTH."""
    if depth > MAX_VALUE_DEPTH:
        return NOT_LITERAL
    if isinstance(node, ast.Constant):
        value = node.value
        if value is None or type(value) in (str, int, float, bool):
            return value
        return NOT_LITERAL  # bytes, complex, Ellipsis
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = node.operand
        number = operand.value if isinstance(operand, ast.Constant) else None
        if isinstance(number, (int, float)) and not isinstance(number, bool):
            return -number if isinstance(node.op, ast.USub) else number
        return NOT_LITERAL
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal(item, depth + 1) for item in node.elts]
        return NOT_LITERAL if any(item is NOT_LITERAL for item in items) else items
    if isinstance(node, ast.Dict):
        result: dict[Any, Any] = {}
        for key_node, value_node in zip(node.keys, node.values, strict=True):
            if key_node is None:  # {**other}
                return NOT_LITERAL
            key = _literal(key_node, depth + 1)
            if key is NOT_LITERAL or isinstance(key, (list, dict)):
                return NOT_LITERAL
            value = _literal(value_node, depth + 1)
            if value is NOT_LITERAL:
                return NOT_LITERAL
            result[key] = value
        return result
    if isinstance(node, ast.Name) and node.id in _JSON_NAMES:
        return _JSON_NAMES[node.id]
    return NOT_LITERAL


_JSON_NAMES: Final[dict[str, Any]] = {"true": True, "false": False, "null": None}


def _dotted_name(node: ast.AST) -> str | None:
    """``f`` or ``math.sqrt`` (any depth of attributes on a name); None for anything else."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _call_of_node(node: ast.Call) -> Call | None:
    name = _dotted_name(node.func)
    if name is None:
        return None
    args: dict[str, Any] = {}
    for index, arg in enumerate(node.args):
        if isinstance(arg, ast.Starred):
            args[STARRED_KEY] = NOT_LITERAL
        else:
            args[positional_key(index)] = _literal(arg)
    for keyword in node.keywords:
        key = keyword.arg if keyword.arg is not None else UNPACKED_KEY
        if key in args and key != UNPACKED_KEY:
            return None  # f(a=1, a=2) is not valid Python (the parser leaves this to the compiler)
        args[key] = NOT_LITERAL if keyword.arg is None else _literal(keyword.value)
    return Call(name, args)


def _calls_of_expression(node: ast.expr) -> list[Call] | None:
    """The calls an expression statement makes: a call, a list or tuple of calls, or JSON calls."""
    if isinstance(node, ast.Call):
        call = _call_of_node(node)
        return None if call is None else [call]
    if isinstance(node, (ast.List, ast.Tuple)):
        calls: list[Call] = []
        for item in node.elts:
            if isinstance(item, ast.Call):
                call = _call_of_node(item)
            elif isinstance(item, ast.Dict):
                call = json_call(_literal(item))
            else:
                return None
            if call is None:
                return None
            calls.append(call)
        return calls
    if isinstance(node, ast.Dict):
        call = json_call(_literal(node))
        return None if call is None else [call]
    return None


def _calls_of_python(source: str) -> list[Call] | None:
    """Every call of ``source`` if it is nothing but call statements (comments allowed), else None."""
    module = _parse_python(source)
    if module is None:
        return None
    calls: list[Call] = []
    for statement in module.body:
        if not isinstance(statement, ast.Expr):
            return None
        found = _calls_of_expression(statement.value)
        if found is None:
            return None
        calls.extend(found)
    return calls


def _loads(text: str) -> Any:
    """JSON, or NOT_LITERAL (also for duplicate keys, NaN, Infinity, 1e999 and nesting too deep to decode)."""
    try:
        return loads_strict(text)
    except (ValueError, MemoryError):  # StrictJsonError too
        return NOT_LITERAL


def _json_value(value: Any, depth: int = 0) -> Any:
    """A decoded JSON value as an argument value: NOT_LITERAL when nested deeper than MAX_VALUE_DEPTH."""
    if isinstance(value, list):
        if depth >= MAX_VALUE_DEPTH:
            return NOT_LITERAL
        items = [_json_value(item, depth + 1) for item in value]
        return NOT_LITERAL if any(item is NOT_LITERAL for item in items) else items
    if isinstance(value, dict):
        if depth >= MAX_VALUE_DEPTH:
            return NOT_LITERAL
        result = {key: _json_value(item, depth + 1) for key, item in value.items()}
        return NOT_LITERAL if any(item is NOT_LITERAL for item in result.values()) else result
    if value is None or type(value) in (str, int, float, bool):
        return value
    return NOT_LITERAL


_ARGUMENT_KEYS: Final = ("arguments", "parameters", "input", "args")


def _looks_like_schema(value: object) -> bool:
    """A JSON Schema of parameters (what a tool definition holds), not arguments."""
    return isinstance(value, dict) and value.get("type") in ("object", "dict") and isinstance(
        value.get("properties"), dict
    )


def json_call(value: Any) -> Call | None:
    """A call from a JSON-shaped object, or None.

    ``{"name": ..., "arguments": {...}}`` (``parameters``, ``input`` or ``args`` too; arguments may
    be a JSON string, as OpenAI sends them), OpenAI's ``{"type": "function", "function": {"name",
    "arguments"}}``, Converse's ``{"toolUse": {"name", "input"}}``, a ``{"type": "tool_use", "name",
    "input"}`` block. A tool *definition* (with a description or a parameters schema) is not a call:
    echoing the tool list must not pass for calling the tools. Arguments that cannot be read keep the
    call (its name may be right) with one argument that matches nothing.
    """
    if not isinstance(value, dict):
        return None
    if len(value) == 1 and isinstance(value.get("toolUse"), dict):
        value = value["toolUse"]
    function = value.get("function")
    if isinstance(function, dict):
        if "description" in function or "parameters" in function:
            return None
        value = function
    if "description" in value:
        return None
    name = value.get("name")
    if not isinstance(name, str) or not name.strip():
        return None
    arguments: Any = {}
    for key in _ARGUMENT_KEYS:
        if key in value:
            arguments = value[key]
            break
    if isinstance(arguments, str):
        arguments = _loads(arguments) if arguments.strip() else {}
    if arguments is None:
        arguments = {}
    if _looks_like_schema(arguments):
        return None
    if not isinstance(arguments, dict):
        return Call(name.strip(), {UNPACKED_KEY: NOT_LITERAL})
    return Call(name.strip(), {str(key): _json_value(item, 1) for key, item in arguments.items()})


# ---------------------------------------------------------------------------------------
# Reading an answer's text
# ---------------------------------------------------------------------------------------

_TOOL_CALL_TAG = re.compile(r"<tool_call>(.*?)(?:</tool_call>|\Z)", re.DOTALL)
_FENCE = re.compile(r"```[^\n`]*\n(.*?)(?:```|\Z)", re.DOTALL)


def _segments(text: str) -> list[str]:
    """The parts of an answer that should hold calls: ``<tool_call>`` blocks, else fenced code, else all."""
    if "<tool_call>" in text:
        return [block.strip() for block in _TOOL_CALL_TAG.findall(text)]
    if "```" in text:
        blocks = _FENCE.findall(text)
        if blocks:
            return ["\n".join(blocks)]
        return [text.replace("```", "")]  # a fence on one line: ```f(x=1)```
    return [text]


def _chunks(text: str) -> list[str]:
    """``text`` cut at line ends outside brackets (strings inside brackets respected), each stripped of
    a trailing comma or semicolon: the statements of an answer whose prose keeps it from parsing whole."""
    chunks: list[str] = []
    depth = start = index = 0
    length = len(text)
    quote = ""
    while index < length:
        char = text[index]
        if quote:
            if char == "\\":
                index += 2
                continue
            if text.startswith(quote, index):
                index += len(quote)
                quote = ""
                continue
            if char == "\n" and len(quote) == 1:
                quote = ""  # an unclosed one-line string ends with its line
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(depth - 1, 0)
        elif char in "'\"" and depth > 0:  # outside brackets a quote is prose ("Here's")
            quote = char * 3 if text.startswith(char * 3, index) else char
            index += len(quote)
            continue
        elif char == "\n" and depth == 0:
            chunks.append(text[start:index])
            start = index + 1
        index += 1
    chunks.append(text[start:])
    return [chunk.strip().rstrip(",;").rstrip() for chunk in chunks if chunk.strip()]


def _calls_of_chunk(chunk: str) -> list[Call] | None:
    if chunk.startswith("`") and chunk.endswith("`"):
        chunk = chunk.strip("`").strip()
    if chunk[:1] in ("{", "["):
        decoded = _loads(chunk)
        if decoded is not NOT_LITERAL:
            items = decoded if isinstance(decoded, list) else [decoded]
            calls = [json_call(item) for item in items]
            if calls and all(call is not None for call in calls):
                return [call for call in calls if call is not None]
    return _calls_of_python(chunk)


def _calls_of_segment(segment: str, try_whole: bool = True) -> tuple[list[Call], int]:
    """(calls, unreadable parts) of one segment: parsed whole when it is only calls (unless the caller
    already tried), else statement by statement, and a statement that does not parse line by line."""
    if not segment:
        return [], 0
    whole = _calls_of_chunk(segment) if try_whole else None
    if whole is not None:
        return whole, 0
    calls: list[Call] = []
    unparsed = 0
    for chunk in _chunks(segment):
        found = _calls_of_chunk(chunk)
        if found is None and "\n" in chunk:  # an unbalanced bracket in prose swallowed the lines after it
            for line in chunk.split("\n"):
                line = line.strip().rstrip(",;").rstrip()
                if line:
                    line_calls = _calls_of_chunk(line)
                    if line_calls is None:
                        unparsed += 1
                    else:
                        calls.extend(line_calls)
            continue
        if found is None:
            unparsed += 1
        else:
            calls.extend(found)
    return calls, unparsed


def normalize_text(text: str) -> str:
    """Line ends as LF, a leading byte-order mark dropped, surrounding whitespace trimmed."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.strip().lstrip("\ufeff").strip()


# Answers up to this long are cached (the samples of a group often repeat one); longer ones are rare
# and would only fill the memory.
_CACHED_ANSWER_CHARS: Final = 2048


def parse_answer_text(text: str, max_chars: int = 20_000, max_calls: int = 64) -> ParsedAnswer:
    """The calls an answer's text makes.

    Longer than ``max_chars`` it is not read at all (``answer_too_long``), so the parser never sees a
    huge input; more than ``max_calls`` calls and unreadable segments is ``too_many_calls``.
    """
    if len(text) > max_chars:
        return ParsedAnswer((), 0, Metric.ANSWER_TOO_LONG)
    if len(text) <= _CACHED_ANSWER_CHARS:
        return _cached_answer(text, max_calls)
    return _parse_answer(text, max_calls)


@lru_cache(maxsize=8192)
def _cached_answer(text: str, max_calls: int) -> ParsedAnswer:
    return _parse_answer(text, max_calls)


def _parse_answer(text: str, max_calls: int) -> ParsedAnswer:
    text = normalize_text(text)
    if not text:
        return ParsedAnswer(())
    whole = _calls_of_chunk(text)  # first as it is: a string argument may hold ``` or <tool_call>
    if whole is not None:
        if len(whole) > max_calls:
            return ParsedAnswer((), 0, Metric.TOO_MANY_CALLS)
        return ParsedAnswer(tuple(whole))
    calls: list[Call] = []
    unparsed = 0
    for segment in _segments(text):
        found, bad = _calls_of_segment(segment, try_whole=segment != text)
        calls.extend(found)
        unparsed += bad
        if len(calls) + unparsed > max_calls:
            return ParsedAnswer((), 0, Metric.TOO_MANY_CALLS)
    return ParsedAnswer(tuple(calls), unparsed)


# ---------------------------------------------------------------------------------------
# Structured tool calls (the message itself, not its text)
# ---------------------------------------------------------------------------------------

_HARMONY_STARTS: Final = ("<|channel|>", "<|start|>")
_HARMONY_ENDS: Final = ("<|call|>", "<|end|>", "<|return|>", "<|start|>")
_HARMONY_RECIPIENT = re.compile(r"to=functions\.([^\s<]+)")


def _last_assistant_message(top_level: Mapping[str, Any]) -> Mapping[str, Any] | None:
    messages = top_level.get("messages")
    if not isinstance(messages, list):
        return None
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") in ASSISTANT_ROLES:
            return message
    return None


def _harmony_calls(text: str) -> list[tuple[str, str]]:
    """(function, arguments text) of each GPT-OSS harmony message addressed ``to=functions.<name>``."""
    pieces = text.split("<|message|>")
    found: list[tuple[str, str]] = []
    for index in range(1, len(pieces)):
        header = pieces[index - 1]
        for marker in _HARMONY_ENDS:
            cut = header.rfind(marker)
            if cut >= 0:
                header = header[cut + len(marker):]
        recipient = _HARMONY_RECIPIENT.search(header)
        if recipient is None:
            continue
        body = pieces[index]
        for marker in _HARMONY_ENDS:
            cut = body.find(marker)
            if cut >= 0:
                body = body[:cut]
        found.append((recipient[1], body))
    return found


def structured_answer(top_level: Mapping[str, Any], max_chars: int, max_calls: int) -> ParsedAnswer | None:
    """The calls the last assistant message makes as structured tool calls, or None when it makes none
    that way (its text is read instead).

    OpenAI ``tool_calls``; content blocks ``{"toolUse": ...}`` (Converse) or ``{"type": "tool_use"}``;
    raw GPT-OSS harmony text with messages ``to=functions.<name>``. Each item that is not a call
    counts as unreadable; more than ``max_calls`` items, or arguments longer than ``max_chars`` in all,
    score 0.0 like a text answer.
    """
    message = _last_assistant_message(top_level)
    if message is None:
        return None
    items: list[Any] = []
    tool_calls = message.get("tool_calls")
    if isinstance(tool_calls, list):
        items.extend(tool_calls)
    content = message.get("content")
    if isinstance(content, list):
        items.extend(
            block for block in content
            if isinstance(block, dict) and ("toolUse" in block or block.get("type") == "tool_use")
        )
    elif isinstance(content, str) and "to=functions." in content and content.lstrip().startswith(_HARMONY_STARTS):
        if len(content) > max_chars:
            return ParsedAnswer((), 0, Metric.ANSWER_TOO_LONG)
        items.extend({"name": name, "arguments": body} for name, body in _harmony_calls(content))
    if not items:
        return None
    if len(items) > max_calls:
        return ParsedAnswer((), 0, Metric.TOO_MANY_CALLS)
    if sum(_size(item) for item in items) > max_chars:
        return ParsedAnswer((), 0, Metric.ANSWER_TOO_LONG)
    calls = [json_call(item) for item in items]
    found = tuple(call for call in calls if call is not None)
    return ParsedAnswer(found, len(calls) - len(found))


def _size(item: Any) -> int:
    """Characters of an item's argument text (a JSON string in OpenAI's tool_calls); 0 for objects."""
    if not isinstance(item, dict):
        return 0
    function = item.get("function")
    holder = function if isinstance(function, dict) else item.get("toolUse", item)
    if not isinstance(holder, dict):
        return 0
    return sum(len(holder[key]) for key in _ARGUMENT_KEYS if isinstance(holder.get(key), str))


# ---------------------------------------------------------------------------------------
# Reading the reference
# ---------------------------------------------------------------------------------------


class GroundTruthError(ValueError):
    """The reference cannot be read as calls; the message names where."""


def _ref_of_call(call: Call, where: str) -> RefCall:
    for key, value in call.args.items():
        if value is NOT_LITERAL:
            what = "unpacked arguments" if key in (UNPACKED_KEY, STARRED_KEY) else f"argument {key}"
            raise GroundTruthError(f"{where}: {call.name}: {what} is not a literal value")
    return RefCall(call.name, {key: (value,) for key, value in call.args.items()})


def _bfcl_call(value: Mapping[str, Any], where: str) -> RefCall:
    """``{"f": {"a": [1, "1"], "b": ["", 2]}}``: BFCL's possible answers (``""`` marks an optional one)."""
    ((name, params),) = value.items()
    args: dict[str, tuple[Any, ...]] = {}
    optional: set[str] = set()
    for key, alternatives in params.items():
        choices = alternatives if isinstance(alternatives, list) else [alternatives]
        accepted = []
        for choice in choices:
            if choice == "":
                optional.add(str(key))
                continue
            converted = _json_value(choice, 1)
            if converted is NOT_LITERAL:
                raise GroundTruthError(f"{where}: {name}: argument {key} nests too deep")
            accepted.append(converted)
        args[str(key)] = tuple(accepted)
    return RefCall(str(name), args, frozenset(optional))


def _ref_of_object(value: Any, where: str) -> RefCall:
    call = json_call(value)
    if call is not None:
        return _ref_of_call(call, where)
    if isinstance(value, dict) and len(value) == 1:
        ((name, params),) = value.items()
        if isinstance(params, dict) and isinstance(name, str) and name.strip():
            return _bfcl_call(value, where)
    raise GroundTruthError(
        f"{where}: expected a call object ({{\"name\": ..., \"arguments\": {{...}}}}) or BFCL's "
        f"{{\"function\": {{\"argument\": [values]}}}}, got {describe_value(value)}"
    )


def _refs_of_text(text: str, where: str, nested: bool = False) -> list[RefCall]:
    text = normalize_text(text)
    if not text:
        raise GroundTruthError(f"{where}: empty")
    if len(text) > MAX_REFERENCE_CHARS:
        raise GroundTruthError(f"{where}: longer than {MAX_REFERENCE_CHARS} characters")
    if text[0] in "[{" and not nested:
        decoded = _loads(text)
        if isinstance(decoded, list) and decoded and all(isinstance(item, str) for item in decoded):
            return _refs_of_list(decoded, where, nested=True)  # AWS's exporter: json.dumps of call strings
        if isinstance(decoded, (dict, list)):
            try:
                return _refs_of_value(decoded, where, nested=True)
            except GroundTruthError:
                pass  # maybe Python after all: [f(a=1), g(b=2)] is not JSON, {"a": 1} in a call is
    module = _parse_python(text)
    if (not nested and module is not None and len(module.body) == 1 and isinstance(module.body[0], ast.Expr)
            and isinstance(module.body[0].value, (ast.List, ast.Tuple)) and module.body[0].value.elts
            and all(isinstance(item, ast.Constant) and isinstance(item.value, str)
                    for item in module.body[0].value.elts)):
        strings = [item.value for item in module.body[0].value.elts if isinstance(item, ast.Constant)]
        return _refs_of_list(strings, where, nested=True)  # ['f(a=1)'], a list's repr
    calls, unparsed = _calls_of_segment(text)
    if unparsed or not calls:
        raise GroundTruthError(f"{where}: not a function call or a list of calls: {describe_value(text)}")
    return [_ref_of_call(call, where) for call in calls]


def _refs_of_list(items: Sequence[Any], where: str, nested: bool) -> list[RefCall]:
    if not items:
        raise GroundTruthError(f"{where}: an empty list")
    refs: list[RefCall] = []
    for index, item in enumerate(items):
        item_where = f"{where}[{index}]"
        if isinstance(item, str):
            refs.extend(_refs_of_text(item, item_where, nested=nested))
        elif isinstance(item, dict):
            refs.append(_ref_of_object(item, item_where))
        else:
            raise GroundTruthError(f"{item_where}: expected a call string or object, got {describe_value(item)}")
    return refs


def _refs_of_value(value: Any, where: str, nested: bool = False) -> list[RefCall]:
    if isinstance(value, str):
        refs = _refs_of_text(value, where, nested)
    elif isinstance(value, list):
        refs = _refs_of_list(value, where, nested)
    elif isinstance(value, dict):
        refs = [_ref_of_object(value, where)]
    else:
        raise GroundTruthError(f"{where}: expected a call string, a list of calls or a call object, "
                               f"got {describe_value(value)}")
    if len(refs) > MAX_REFERENCE_CALLS:
        raise GroundTruthError(f"{where}: more than {MAX_REFERENCE_CALLS} calls")
    return refs


def parse_reference(value: Any, where: str = GROUND_TRUTH_FIELD) -> tuple[RefCall, ...]:
    """The reference calls of a ``ground_truth`` value; raise GroundTruthError naming ``where``."""
    try:
        return tuple(_refs_of_value(value, where))
    except RecursionError as error:
        raise GroundTruthError(f"{where}: nested too deep") from error


# References up to this long are cached (a training set has at most 20,000 prompts); longer ones are
# parsed for each sample rather than held in memory.
_CACHED_REFERENCE_CHARS: Final = 4096


@lru_cache(maxsize=32_768)
def _cached_reference(where: str, kind: str, key: str) -> tuple[RefCall, ...] | str:
    """parse_reference of a string (``kind`` "text") or of a JSON value given as its canonical text
    ("json"); the problem as a string when it cannot be read. Cached: a group's samples share it."""
    try:
        return parse_reference(key if kind == "text" else json.loads(key), where)
    except GroundTruthError as error:
        return str(error)


def clear_caches() -> None:
    """Forget cached answers, references and normalised strings, as in a fresh Lambda container."""
    _cached_answer.cache_clear()
    _cached_reference.cache_clear()
    _normalized_short.cache_clear()
    _loose_short.cache_clear()


def reference_of(top_level: Mapping[str, Any], metadata: Mapping[str, Any] | None) -> tuple[str, Any] | None:
    """(where, value) of a sample's or record's reference: ``ground_truth`` (top level, else metadata;
    null is absent), else ``reference_answer.ground_truth``, else a ``reference_answer`` that is a
    string, a list or a call object; None when there is none."""
    return next(_reference_candidates(top_level, metadata), None)


def _reference_candidates(top_level: Mapping[str, Any],
                          metadata: Mapping[str, Any] | None) -> Iterator[tuple[str, Any]]:
    """Every explicit reference (``ground_truth``, then ``reference_answer.ground_truth``); a bare
    ``reference_answer`` only when there is neither."""
    explicit = False
    value = top_level.get(GROUND_TRUTH_FIELD)
    if value is not None:
        explicit = True
        yield GROUND_TRUTH_FIELD, value
    elif metadata and metadata.get(GROUND_TRUTH_FIELD) is not None:
        explicit = True
        yield f"metadata.{GROUND_TRUTH_FIELD}", metadata[GROUND_TRUTH_FIELD]
    reference = top_level.get(REFERENCE_ANSWER_FIELD)
    if reference is None and metadata:
        reference = metadata.get(REFERENCE_ANSWER_FIELD)
    if isinstance(reference, dict) and reference.get(GROUND_TRUTH_FIELD) is not None:
        yield f"{REFERENCE_ANSWER_FIELD}.{GROUND_TRUTH_FIELD}", reference[GROUND_TRUTH_FIELD]
    elif not explicit and (isinstance(reference, (str, list))
                           or (isinstance(reference, dict) and json_call(reference) is not None)):
        yield REFERENCE_ANSWER_FIELD, reference


# ---------------------------------------------------------------------------------------
# Comparing values
# ---------------------------------------------------------------------------------------

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_LOOSE_DROP = re.compile(r"[\s\W_]+")


# Strings up to this long are cached once normalised (a group's answers repeat the reference's
# values); longer ones would only fill the memory.
_CACHED_STRING_CHARS: Final = 256


def _normalized(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _loose(text: str) -> str:
    return _LOOSE_DROP.sub("", _normalized(text))


_normalized_short = lru_cache(maxsize=65_536)(_normalized)
_loose_short = lru_cache(maxsize=65_536)(_loose)


def _cached_normalized(text: str) -> str:
    return _normalized_short(text) if len(text) <= _CACHED_STRING_CHARS else _normalized(text)


def _cached_loose(text: str) -> str:
    return _loose_short(text) if len(text) <= _CACHED_STRING_CHARS else _loose(text)


def _identity(text: str) -> str:
    return text


STRING_MODES: Final[dict[str, Callable[[str], str]]] = {
    "exact": _identity, "normalized": _cached_normalized, "loose": _cached_loose,
}


def _number_of(text: str) -> int | float | None:
    text = text.strip()
    if len(text) > 64 or not _NUMBER.fullmatch(text):
        return None
    if "." in text or "e" in text or "E" in text:
        return float(text)
    return int(text)


def _numbers_equal(a: int | float, b: int | float) -> bool:
    if a == b:
        return True
    if isinstance(a, int) and isinstance(b, int):
        return False
    try:
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=0.0)
    except OverflowError:
        return False


def _key(key: Any) -> Any:
    """A dict key as JSON would write it: 1 and "1" are the same key, True is "true"."""
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, float) and key.is_integer():
        return str(int(key))
    return key if isinstance(key, str) else str(key)


class Comparer:
    """Whether an answer's value matches a reference value, under the configured coercions."""

    def __init__(self, strings: Callable[[str], str], coerce: bool) -> None:
        self.strings = strings
        self.coerce = coerce

    def match(self, answer: Any, expected: Any) -> bool:
        if answer is NOT_LITERAL or expected is NOT_LITERAL:
            return False
        if isinstance(answer, bool) or isinstance(expected, bool):  # before numbers: True is not 1
            if isinstance(answer, bool) and isinstance(expected, bool):
                return answer is expected
            if self.coerce:
                flag, other = (answer, expected) if isinstance(answer, bool) else (expected, answer)
                return isinstance(other, str) and other.strip().lower() == ("true" if flag else "false")
            return False
        if answer is None or expected is None:
            return answer is None and expected is None
        if isinstance(answer, str) and isinstance(expected, str):
            return answer == expected or self.strings(answer) == self.strings(expected)
        answer_number = isinstance(answer, (int, float))
        expected_number = isinstance(expected, (int, float))
        if answer_number and expected_number:
            return _numbers_equal(answer, expected)
        if answer_number or expected_number:
            if not self.coerce:
                return False
            number, text = (answer, expected) if answer_number else (expected, answer)
            parsed = _number_of(text) if isinstance(text, str) else None
            return parsed is not None and _numbers_equal(number, parsed)
        if isinstance(answer, list) and isinstance(expected, list):
            return len(answer) == len(expected) and all(
                self.match(a, e) for a, e in zip(answer, expected, strict=True)
            )
        if isinstance(answer, dict) and isinstance(expected, dict):
            if self.coerce:
                answer = {_key(k): v for k, v in answer.items()}
                expected = {_key(k): v for k, v in expected.items()}
            return answer.keys() == expected.keys() and all(self.match(answer[k], expected[k]) for k in expected)
        return False


# ---------------------------------------------------------------------------------------
# Tool definitions (defaults for scoring, schemas for the dataset check)
# ---------------------------------------------------------------------------------------


def tool_schemas(tools: Any) -> dict[str, dict[str, Any]]:
    """Function name -> its parameters schema, from OpenAI's ``[{"type": "function", "function": {...}}]``
    or bare ``[{"name", "parameters"}]`` (BFCL's function docs); entries of another shape are skipped."""
    schemas: dict[str, dict[str, Any]] = {}
    if not isinstance(tools, list):
        return schemas
    for tool in tools:
        if not isinstance(tool, dict):
            continue
        function: dict[str, Any] = tool["function"] if isinstance(tool.get("function"), dict) else tool
        name = function.get("name")
        parameters = function.get("parameters")
        if isinstance(name, str):
            schemas[name] = parameters if isinstance(parameters, dict) else {}
    return schemas


def _properties(schema: Mapping[str, Any]) -> dict[str, Any]:
    properties = schema.get("properties")
    return properties if isinstance(properties, dict) else {}


# ---------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PairScore:
    score: float
    name_ok: bool
    args_share: float


_NO_PAIR: Final = PairScore(0.0, False, 0.0)


def assign(scores: Sequence[Sequence[float]]) -> list[int]:
    """For each row, the column that maximises the total over rows (the Hungarian algorithm); -1 for a
    row left without a column when there are more rows than columns."""
    rows = len(scores)
    columns = len(scores[0]) if rows else 0
    if rows == 0 or columns == 0:
        return [-1] * rows
    if rows > columns:
        transposed = assign([[scores[r][c] for r in range(rows)] for c in range(columns)])
        result = [-1] * rows
        for column, row in enumerate(transposed):
            if row >= 0:
                result[row] = column
        return result
    if rows == 1:
        best = max(range(columns), key=lambda c: (scores[0][c], -c))
        return [best]
    # Minimise cost = -score; rows <= columns. Potentials u (rows) and v (columns), 1-based with a dummy 0.
    inf = math.inf
    u = [0.0] * (rows + 1)
    v = [0.0] * (columns + 1)
    owner = [0] * (columns + 1)  # owner[column] = row assigned to it
    way = [0] * (columns + 1)
    for row in range(1, rows + 1):
        owner[0] = row
        free_column = 0
        min_slack = [inf] * (columns + 1)
        used = [False] * (columns + 1)
        while True:
            used[free_column] = True
            current_row = owner[free_column]
            delta = inf
            next_column = 0
            for column in range(1, columns + 1):
                if not used[column]:
                    slack = -scores[current_row - 1][column - 1] - u[current_row] - v[column]
                    if slack < min_slack[column]:
                        min_slack[column] = slack
                        way[column] = free_column
                    if min_slack[column] < delta:
                        delta = min_slack[column]
                        next_column = column
            for column in range(columns + 1):
                if used[column]:
                    u[owner[column]] += delta
                    v[column] -= delta
                else:
                    min_slack[column] -= delta
            free_column = next_column
            if owner[free_column] == 0:
                break
        while free_column:
            previous = way[free_column]
            owner[free_column] = owner[previous]
            free_column = previous
    result = [-1] * rows
    for column in range(1, columns + 1):
        if owner[column]:
            result[owner[column] - 1] = column - 1
    return result


class ToolCall:
    """The configured task: scores a batch (references cached per GRPO group) and checks records."""

    DESCRIPTION: Final = DESCRIPTION

    def __init__(self, options: Mapping[str, Any]) -> None:
        self.strict_order = options["order"] == "strict"
        self.comparer = Comparer(STRING_MODES[options["stringMatch"]], bool(options["coerceTypes"]))
        self.name_weight = float(options["nameWeight"])
        self.key_credit = float(options["keyCredit"])
        self.wrong_name_cap = float(options["wrongNameCap"])
        self.dot_equals_underscore = bool(options["dotEqualsUnderscore"])
        self.penalize_unparsed = bool(options["penalizeUnparsed"])
        self.max_chars = int(options["maxAnswerChars"])
        self.max_calls = int(options["maxCalls"])

    # -- the batch ---------------------------------------------------------------------

    def score_batch(self, samples: list[ParsedSample], deadline: object = None) -> list[Any]:
        scores: list[Any] = []
        for sample in samples:
            try:
                scores.append(self.score_sample(sample))
            except Exception as error:  # noqa: BLE001 - a bug costs this sample, never the batch
                scores.append(TaskFailure(f"{type(error).__name__}: {error}"))
        return scores

    def score_sample(self, sample: ParsedSample) -> Score | Malformed:
        refs = self.references(sample.top_level, sample.metadata)
        if isinstance(refs, str):
            return Malformed(refs)
        answer = structured_answer(sample.top_level, self.max_chars, self.max_calls)
        if answer is None:
            answer = parse_answer_text(sample.answer, self.max_chars, self.max_calls)
        return self.score_calls(answer, refs, self._defaults_reader(sample))

    def score(self, answer: str, sample: Mapping[str, Any]) -> Score | Malformed:
        """One raw sample's answer text (for tools and tests; the grader calls score_batch)."""
        metadata = sample.get("metadata")
        extra = metadata if isinstance(metadata, dict) else {}
        return self.score_sample(ParsedSample(sample.get("id"), answer, "", dict(sample), extra))

    def references(self, top_level: Mapping[str, Any], metadata: Mapping[str, Any] | None) -> tuple[RefCall, ...] | str:
        """The sample's reference calls, or the reason it has none that can be read."""
        found = reference_of(top_level, metadata)
        if found is None:
            return (f"no {GROUND_TRUTH_FIELD}: expected the reference call(s) in '{GROUND_TRUTH_FIELD}' (top level "
                    f"or metadata) or in '{REFERENCE_ANSWER_FIELD}.{GROUND_TRUTH_FIELD}'")
        where, value = found
        if isinstance(value, str):
            kind, key = "text", value
        else:
            try:
                kind, key = "json", json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)
            except (TypeError, ValueError, RecursionError):
                return f"{where}: not a JSON value that can be read ({describe_value(value)})"
        if len(key) > _CACHED_REFERENCE_CHARS:
            return _cached_reference.__wrapped__(where, kind, key)
        return _cached_reference(where, kind, key)

    def _defaults_reader(self, sample: ParsedSample) -> Callable[[str], Mapping[str, Any]]:
        """Reads, only when needed, each function's documented parameter defaults from the sample's tools."""
        cache: dict[str, dict[str, dict[str, Any]]] = {}

        def defaults(name: str) -> Mapping[str, Any]:
            if "schemas" not in cache:
                tools = sample.field(TOOLS_FIELD)
                if tools is None:
                    tools = sample.field(TOOL_DEFINITIONS_FIELD)
                cache["schemas"] = tool_schemas(tools)
            schemas = cache["schemas"]
            schema = schemas.get(name)
            if schema is None and self.dot_equals_underscore:
                key = self._name_key(name)
                schema = next((s for n, s in schemas.items() if self._name_key(n) == key), None)
            if schema is None:
                return {}
            return {
                key: prop["default"] for key, prop in _properties(schema).items()
                if isinstance(prop, dict) and "default" in prop
            }

        return defaults

    # -- one answer --------------------------------------------------------------------

    def _name_key(self, name: str) -> str:
        return name.replace(".", "_") if self.dot_equals_underscore else name

    def pair_score(self, call: Call, ref: RefCall, defaults: Callable[[str], Mapping[str, Any]]) -> PairScore:
        name_ok = self._name_key(call.name) == self._name_key(ref.name)
        match = self.comparer.match
        credit = 0.0
        counted = 0
        documented: Mapping[str, Any] | None = None  # the function's defaults, read only when needed
        for key, accepted in ref.args.items():
            if key in call.args:
                counted += 1
                value = call.args[key]
                if (not accepted and value is not NOT_LITERAL) or any(match(value, e) for e in accepted):
                    credit += 1.0
                else:
                    credit += self.key_credit
            elif key not in ref.optional:
                if documented is None:
                    documented = defaults(ref.name)
                if not (key in documented and any(match(documented[key], e) for e in accepted)):
                    counted += 1  # left out, and its default is not the reference's value
        extras = [key for key in call.args if key not in ref.args]
        if extras:
            if documented is None:
                documented = defaults(ref.name)
            counted += sum(1 for key in extras if not (key in documented and match(call.args[key], documented[key])))
        share = credit / counted if counted else 1.0
        named = 1.0 if name_ok else 0.0
        score = share + self.name_weight * (named - share)  # exactly 1.0 for a perfect call
        if not name_ok:
            score = min(score, self.wrong_name_cap)
        return PairScore(score, name_ok, share)

    def score_calls(self, answer: ParsedAnswer, refs: tuple[RefCall, ...],
                    defaults: Callable[[str], Mapping[str, Any]] | None = None) -> Score:
        expected = len(refs)
        metrics: dict[str, float] = {
            Metric.CALLS_EXPECTED: expected, Metric.CALLS_FOUND: len(answer.calls), Metric.UNPARSED: answer.unparsed,
        }
        if answer.problem is not None or not answer.calls:
            metrics.update({Metric.CALLS_CORRECT: 0, Metric.NAME_MATCH: 0.0, Metric.ARG_MATCH: 0.0})
            metrics[answer.problem or Metric.NO_CALLS] = 1
            return Score(0.0, metrics)
        defaults = defaults or _no_defaults
        calls = answer.calls
        matrix = [[self.pair_score(call, ref, defaults) for call in calls] for ref in refs]
        if self.strict_order:
            columns = [index if index < len(calls) else -1 for index in range(expected)]
        else:
            columns = assign([[pair.score for pair in row] for row in matrix])
        pairs = [matrix[row][column] if column >= 0 else _NO_PAIR for row, column in enumerate(columns)]
        total = sum(pair.score for pair in pairs)
        found = len(calls) + (answer.unparsed if self.penalize_unparsed else 0)
        metrics[Metric.CALLS_CORRECT] = sum(1 for pair in pairs if pair.score >= 1.0)
        metrics[Metric.NAME_MATCH] = sum(1 for pair in pairs if pair.name_ok) / expected
        metrics[Metric.ARG_MATCH] = sum(pair.args_share for pair in pairs) / expected
        return Score(total / max(expected, found), metrics)

    # -- the dataset check ---------------------------------------------------------------

    def check_record(self, record: dict[str, Any]) -> list[str]:
        return check_record(record, self._name_key)


def _no_defaults(name: str) -> Mapping[str, Any]:
    return {}


def configure(options: Mapping[str, Any]) -> ToolCall:
    return ToolCall(options)


# ---------------------------------------------------------------------------------------
# The dataset check
# ---------------------------------------------------------------------------------------

_JSON_TYPES: Final[dict[str, Callable[[Any], bool]]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "tuple": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "dict": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}


def check_record(record: Mapping[str, Any], name_key: Callable[[str], str] = _identity) -> list[str]:
    """The reference must be readable calls; with a ``tools`` list, each call must fit its function.

    Every place a reference may sit is read (``ground_truth`` at the top level or in metadata,
    ``reference_answer.ground_truth``); two that disagree are a problem. ``tools`` (or
    ``metadata.tool_definitions``), when present, must be a list of function definitions, and each
    reference call must name one of them, give every required parameter, only documented ones, and
    values of the documented type and enum.
    """
    metadata = record.get("metadata") if isinstance(record.get("metadata"), dict) else None
    candidates = list(_reference_candidates(record, metadata))
    if not candidates:
        return [f"no {GROUND_TRUTH_FIELD}: add the reference call(s) as '{GROUND_TRUTH_FIELD}' or "
                f"'{REFERENCE_ANSWER_FIELD}': {{'{GROUND_TRUTH_FIELD}': ...}} (e.g. 'get_weather(city=\"Paris\")')"]
    problems: list[str] = []
    parsed: list[tuple[str, tuple[RefCall, ...]]] = []
    for where, value in candidates:
        try:
            parsed.append((where, parse_reference(value, where)))
        except GroundTruthError as error:
            problems.append(str(error))
    if len(parsed) == 2 and parsed[0][1] != parsed[1][1]:
        problems.append(f"{parsed[0][0]} and {parsed[1][0]} name different calls")
    if problems or not parsed:
        return problems
    where, refs = parsed[0]
    tools = record.get(TOOLS_FIELD, metadata.get(TOOL_DEFINITIONS_FIELD) if metadata else None)
    if tools is None:
        return problems
    tools_where = TOOLS_FIELD if TOOLS_FIELD in record else f"metadata.{TOOL_DEFINITIONS_FIELD}"
    if not isinstance(tools, list) or not tools:
        return [f"{tools_where} must be a non-empty list of function definitions, got {describe_value(tools)}"]
    schemas = tool_schemas(tools)
    for index, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) and isinstance(tool.get("function"), dict) else tool
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            problems.append(f"{tools_where}[{index}]: expected {{\"type\": \"function\", \"function\": "
                            f"{{\"name\": ..., \"parameters\": {{...}}}}}}, got {describe_value(tool)}")
        elif "parameters" in function and not isinstance(function["parameters"], dict):
            problems.append(f"{tools_where}[{index}].parameters must be an object (a JSON Schema)")
    by_key = {name_key(name): schema for name, schema in schemas.items()}
    for ref in refs:
        schema = by_key.get(name_key(ref.name))
        if schema is None:
            problems.append(f"{where}: {ref.name} is not a function of {tools_where} "
                            f"({', '.join(sorted(schemas)) or 'none'})")
            continue
        problems.extend(_check_against_schema(ref, schema, where))
    return problems


def _check_against_schema(ref: RefCall, schema: Mapping[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    properties = _properties(schema)
    required = schema.get("required")
    for name in required if isinstance(required, list) else []:
        if isinstance(name, str) and name not in ref.args:
            problems.append(f"{where}: {ref.name} lacks its required argument {name}")
    for key, accepted in ref.args.items():
        if key.startswith("#"):
            continue  # positional: the schema's order is not a signature
        prop = properties.get(key)
        if not isinstance(prop, dict):
            problems.append(f"{where}: {ref.name} has no parameter {key} ({', '.join(properties) or 'none'})")
            continue
        types = prop.get("type")
        type_names = [types] if isinstance(types, str) else types if isinstance(types, list) else []
        checks = [_JSON_TYPES[name] for name in type_names if isinstance(name, str) and name in _JSON_TYPES]
        enum = prop.get("enum")
        for value in accepted:
            if checks and not any(check(value) for check in checks):
                problems.append(f"{where}: {ref.name}: {key} is {describe_value(value)}, "
                                f"expected {'/'.join(map(str, type_names))}")
            elif isinstance(enum, list) and value not in enum:
                problems.append(f"{where}: {ref.name}: {key} is {describe_value(value)}, not one of its enum")
    return problems
