"""Reading one raw grader sample: its id, the answer to score, the prompt, extra fields.

Bedrock sends whatever the training record and the rollout produced, so nothing about a
sample's shape is trusted: ``read_sample`` / ``parse_sample`` never raise and return
either the sample's parts or a ``MalformedSample`` carrying a precise reason.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# A tuple, not a set: membership must not fail on an unhashable (malformed) role.
ASSISTANT_ROLES = ("assistant", "nova_assistant")
USER_ROLE = "user"
# Keys of a sample that are its structure, not extra fields.
STRUCTURAL_KEYS = frozenset({"id", "messages", "metadata"})


class _Missing:
    """Marks a field that is absent (distinct from an explicit JSON null)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass(slots=True)
class ParsedSample:
    """A well-formed sample."""

    sample_id: Any
    answer: str  # last assistant message's text, reasoning removed, whitespace kept
    prompt: str  # last user message's text; "" when there is no user message
    top_level: dict[str, Any]
    metadata: dict[str, Any]  # {} when the sample has none

    def field(self, name: str) -> Any:
        """An extra field (see ``sample_field``); None when absent."""
        return sample_field(self.top_level, self.metadata, name)

    @property
    def extra_fields(self) -> dict[str, Any]:
        """All extra fields (``reference_answer`` included), merged as ``field`` reads them."""
        merged = dict(self.metadata)
        merged.update((k, v) for k, v in self.top_level.items() if k not in STRUCTURAL_KEYS)
        return merged

    @property
    def reference_answer(self) -> Any:
        return self.field("reference_answer")


@dataclass(slots=True)
class MalformedSample:
    """A sample that cannot be scored; ``sample_id`` is None when there was no id."""

    sample_id: Any
    reason: str


def _json_type(value: object) -> str:
    """JSON name of a decoded value's type, for reasons an operator can act on."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def describe_value(value: object, width: int = 60) -> str:
    """A short, safe description of a decoded JSON value for reasons and logs.

    Scalars are shown (a string cut to ``width`` characters); arrays and objects only by
    type and size, so a huge or deeply nested value never makes a huge or failing line.
    """
    if isinstance(value, str):
        return repr(value[:width]) + ("..." if len(value) > width else "")
    if isinstance(value, list):
        return f"array of {len(value)}"
    if isinstance(value, dict):
        return f"object of {len(value)} keys"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)  # a number (JSON allows at most 4,300 digits) or another object
    return text if len(text) <= width else text[:width] + "..."


def message_text(content: object) -> str | None:
    """Text of a message's ``content``, or None when the content is not valid.

    ``content`` is a string or a list of blocks. Text blocks are ``{"type": "text",
    "text": ...}`` or Converse-style ``{"text": ...}``, and are concatenated. Every other
    block is skipped: reasoning (type reasoning / thinking / redacted_thinking, Converse
    ``reasoningContent``), images, tool use.
    """
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    parts: list[str] = []
    for block in content:
        if not isinstance(block, dict):
            return None
        block_type = block.get("type", MISSING)
        if block_type is MISSING:
            text = block.get("text", MISSING)
            if text is MISSING:
                continue  # Converse image / toolUse / reasoningContent block
        elif not isinstance(block_type, str):
            return None
        elif block_type == "text":
            text = block.get("text")
        else:
            continue  # reasoning or another non-text block
        if not isinstance(text, str):
            return None
        parts.append(text)
    return "".join(parts)


# Reasoning tags as Qwen3/DeepSeek-style (<think>) and Bedrock's GPT-OSS (<reasoning>) models emit them.
_OPENING_TAG = re.compile(r"<(think|thinking|reasoning)>")
_CLOSING_TAG = re.compile(r"</(think|thinking|reasoning)>")
# GPT-OSS "harmony" format: the user-facing answer is the "final" channel; "analysis" is
# chain of thought and "commentary" tool calls.
_HARMONY_OPENINGS = ("<|channel|>", "<|start|>")
_HARMONY_FINAL_HEADER = "<|channel|>final<|message|>"
_HARMONY_MESSAGE_END = re.compile(r"<\|(?:end|return|call)\|>")


def strip_reasoning(text: str, prompt_opens_reasoning: bool = False) -> str:
    """The visible answer: the model's reasoning removed only where it leads the answer.

    * leading ``<think>``, ``<thinking>`` or ``<reasoning>`` blocks (whitespace around them
      allowed) are removed; a leading block that is never closed makes the whole answer
      reasoning (the generation was cut off while thinking): empty;
    * with ``prompt_opens_reasoning`` (the model's chat template opens the block in the prompt, as the
      Qwen3 template this app knows does), a closing tag with no opening tag before it means everything
      up to it was reasoning; for other models such a tag is text;
    * raw GPT-OSS harmony output (starting with ``<|channel|>`` or ``<|start|>``) keeps its first
      ``final`` channel message, and is empty when there is none; text after that message's end
      counts as answer text;
    * anything else is text: a tag after visible text, or an unclosed one mid-answer, is part of
      the answer (and counts against a length limit), so hiding text behind a tag pays nothing.
    Reasoning content blocks never reach here (``message_text`` skips them).
    """
    if "<" not in text:
        return text
    stripped = text.lstrip()
    if stripped.startswith(_HARMONY_OPENINGS):
        return _harmony_final(stripped)
    if stripped.startswith("<") and (opening := _OPENING_TAG.match(stripped)) is not None:
        while opening is not None:
            close = stripped.find(f"</{opening[1]}>", opening.end())
            if close < 0:
                return ""  # cut off while thinking
            stripped = stripped[close + len(opening[1]) + 3 :].lstrip()
            opening = _OPENING_TAG.match(stripped)
        return stripped
    if prompt_opens_reasoning:
        closing = _CLOSING_TAG.search(text)
        if closing is not None and _OPENING_TAG.search(text, 0, closing.start()) is None:
            return text[closing.end() :]
    return text


def _harmony_final(text: str) -> str:
    start = text.find(_HARMONY_FINAL_HEADER)
    if start < 0:
        return ""  # analysis or tool calls only: no answer for the user
    rest = text[start + len(_HARMONY_FINAL_HEADER) :]
    end = _HARMONY_MESSAGE_END.search(rest)
    if end is None:
        return rest
    return rest[: end.start()] + rest[end.end() :]


TRAJECTORIES_KEY = "trajectories"


class EventShapeError(TypeError):
    """The invocation's event is none of the shapes Bedrock and AWS's sample graders send."""


def samples_of_event(event: object) -> list[Any]:
    """The samples an invocation carries, in the shapes AWS's graders accept.

    * a JSON array of samples (the user guide's contract);
    * an object ``{"trajectories": [...]}`` (AWS's GPT-OSS sample grader);
    * one sample object, with ``messages`` (AWS's SageMaker judge sample).
    The results are always a list, one per sample. Anything else raises EventShapeError.
    """
    if isinstance(event, list):
        return event
    if isinstance(event, dict):
        if TRAJECTORIES_KEY in event:
            trajectories = event[TRAJECTORIES_KEY]
            if isinstance(trajectories, list):
                return trajectories
            raise EventShapeError(f"'{TRAJECTORIES_KEY}' is {_json_type(trajectories)}, expected an array of samples")
        if "messages" in event:
            return [event]
    raise EventShapeError(
        "expected the event to be a JSON array of samples, an object with 'trajectories', or one sample "
        f"object with 'messages'; got {_event_description(event)}"
    )


def _event_description(event: object) -> str:
    description = _json_type(event)
    if isinstance(event, dict):
        keys = sorted(map(str, event))
        shown = ", ".join(repr(key[:40]) for key in keys[:20])
        description += f" with keys [{shown}{', ...' if len(keys) > 20 else ''}]"
    return description


# What read_sample gives for a well-formed sample: (id, answer, prompt, top level, metadata).
# metadata is None when the sample has none (or null).
SampleParts = tuple[Any, str, str, dict[str, Any], dict[str, Any] | None]


def read_sample(raw: object, prompt_opens_reasoning: bool = False) -> SampleParts | MalformedSample:
    """Split one raw sample into what the grader needs, or say precisely what is wrong.

    The allocation-light form of ``parse_sample`` that the grader calls per sample.
    Required: an object with ``messages``, an array of objects each with a string
    ``role``, at least one assistant (``assistant`` / ``nova_assistant``) message, and
    valid content in the last assistant and last user messages. ``metadata``, when
    present and not null, must be an object. A missing id is reported as None.
    """
    if not isinstance(raw, dict):
        return MalformedSample(None, f"sample is {_json_type(raw)}, expected an object")
    sample_id = raw.get("id")
    messages = raw.get("messages")
    if not isinstance(messages, list):
        if "messages" not in raw:
            return MalformedSample(sample_id, "sample has no 'messages'")
        return MalformedSample(sample_id, f"'messages' is {_json_type(messages)}, expected an array")
    metadata = raw.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        return MalformedSample(sample_id, f"'metadata' is {_json_type(metadata)}, expected an object")

    answer_message = prompt_message = None
    for message in messages:
        role = message.get("role") if isinstance(message, dict) else None
        if role == USER_ROLE:
            prompt_message = message
        elif role in ASSISTANT_ROLES:
            answer_message = message
        elif not isinstance(role, str):
            return MalformedSample(sample_id, _message_reason(messages, message))

    if answer_message is None:
        return MalformedSample(sample_id, "no assistant message (role assistant or nova_assistant)")
    content = answer_message.get("content")
    if content is None and "tool_calls" in answer_message:
        content = ""  # OpenAI's shape of a message that only calls tools: the task reads its tool_calls
    answer = content if isinstance(content, str) else message_text(content)
    if answer is None:
        return MalformedSample(sample_id, _content_reason(messages, answer_message))
    if "<" in answer:  # every reasoning marker starts with "<"
        answer = strip_reasoning(answer, prompt_opens_reasoning)
    if prompt_message is None:
        return sample_id, answer, "", raw, metadata
    content = prompt_message.get("content")
    prompt = content if isinstance(content, str) else message_text(content)
    if prompt is None:
        return MalformedSample(sample_id, _content_reason(messages, prompt_message))
    return sample_id, answer, prompt, raw, metadata


def parse_sample(raw: object) -> ParsedSample | MalformedSample:
    """``read_sample`` as a ``ParsedSample``, with field lookups and extra fields."""
    parts = read_sample(raw)
    if isinstance(parts, MalformedSample):
        return parts
    sample_id, answer, prompt, top_level, metadata = parts
    return ParsedSample(sample_id, answer, prompt, top_level, metadata or {})


def sample_field(top_level: Mapping[str, Any], metadata: Mapping[str, Any] | None, name: str) -> Any:
    """An extra field: the sample's top-level value wins over ``metadata``'s.

    Top level wins because it is the record's own field; the docs pass extra fields
    under ``metadata`` while AWS's sample graders read them at the top level. A null
    counts as absent; None when neither has a value.
    """
    value = top_level.get(name)
    if value is None and metadata is not None:
        return metadata.get(name)
    return value


def _position(messages: list[Any], message: object) -> int:
    """Index of ``message`` (the object itself) in ``messages``, for error reasons only."""
    return next(index for index, candidate in enumerate(messages) if candidate is message)


def _message_reason(messages: list[Any], message: object) -> str:
    index = _position(messages, message)
    if not isinstance(message, dict):
        return f"messages[{index}] is {_json_type(message)}, expected an object"
    return f"messages[{index}].role is {_json_type(message.get('role'))}, expected a string"


def _content_reason(messages: list[Any], message: dict[str, Any]) -> str:
    index = _position(messages, message)
    content = message.get("content")
    if isinstance(content, list):
        return (
            f"messages[{index}].content has an invalid block "
            "(each must be an object; a text block's text must be a string)"
        )
    return f"messages[{index}].content is {_json_type(content)}, expected a string or an array of blocks"
