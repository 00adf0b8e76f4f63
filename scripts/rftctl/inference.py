"""Asking a model for answers: Nova through bedrock-runtime Converse, mantle through chat completions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .stack import DeployedStack


from stacks.rft_job.runtime.contract import Variant

from .console import ProgressBar
from .context import CommandContext


@dataclass(frozen=True)
class GenerationSettings:
    temperature: float
    max_tokens: int


class ChatModel(Protocol):
    model_id: str

    def answer(self, messages: Sequence[dict[str, Any]], settings: GenerationSettings) -> str:
        """The model's reply text to ``messages`` (OpenAI chat format)."""


class ConverseModel:
    """A Bedrock model (Nova base profile or a custom model deployment ARN) via Converse."""

    def __init__(self, runtime_client: Any, model_id: str) -> None:
        self._runtime = runtime_client
        self.model_id = model_id

    def answer(self, messages: Sequence[dict[str, Any]], settings: GenerationSettings) -> str:
        from lambda_reward.runtime.samples import message_text

        system = [{"text": message_text(m.get("content")) or ""} for m in messages if m.get("role") == "system"]
        conversation = [
            {"role": m["role"], "content": [{"text": message_text(m.get("content")) or ""}]}
            for m in messages
            if m.get("role") != "system"
        ]
        request: dict[str, Any] = {
            "modelId": self.model_id,
            "messages": conversation,
            "inferenceConfig": {"temperature": settings.temperature, "maxTokens": settings.max_tokens},
        }
        if system:
            request["system"] = system
        response = self._runtime.converse(**request)
        # Text blocks only: reasoningContent blocks are the model's thinking, not its answer.
        blocks = response["output"]["message"]["content"]
        return "".join(block["text"] for block in blocks if "text" in block)


class MantleChatModel:
    """An open-weight model or its fine-tuned id via the mantle chat completions API."""

    def __init__(self, client: Any, model_id: str) -> None:
        self._client = client
        self.model_id = model_id

    def answer(self, messages: Sequence[dict[str, Any]], settings: GenerationSettings) -> str:
        from lambda_reward.runtime.samples import message_text

        completion = self._client.chat.completions.create(
            model=self.model_id,
            messages=[{"role": m["role"], "content": message_text(m.get("content")) or ""} for m in messages],
            temperature=settings.temperature,
            max_tokens=settings.max_tokens,
        )
        return completion.choices[0].message.content or ""


# How each API serves a model for chat: Nova through bedrock-runtime Converse, mantle through its
# OpenAI-compatible chat completions.
CHAT_MODELS: dict[Variant, Callable[[CommandContext, DeployedStack, str], ChatModel]] = {
    Variant.NOVA: lambda ctx, stack, model_id: ConverseModel(ctx.clients.client("bedrock-runtime", stack.region),
                                                             model_id),
    Variant.MANTLE: lambda ctx, stack, model_id: MantleChatModel(ctx.mantle(stack), model_id),
}


def chat_model(ctx: CommandContext, stack: DeployedStack, model_id: str) -> ChatModel:
    return CHAT_MODELS[stack.variant](ctx, stack, model_id)


@dataclass(frozen=True)
class Request:
    """One generation: which model, which conversation."""

    model: ChatModel
    messages: Sequence[dict[str, Any]]


def generate_all(
    ctx: CommandContext,
    requests: Sequence[Request],
    settings: GenerationSettings,
    *,
    concurrency: int,
    label: str,
) -> list[str]:
    """Answers to ``requests``, in order, a few at a time, with a progress bar on stderr.

    The first failure (AWS error, Ctrl-C) cancels what has not started and propagates.
    """
    progress = ProgressBar(ctx.err)
    answers: list[str | None] = [None] * len(requests)
    done = 0
    progress.update(0.0, f"{label} 0/{len(requests)}")

    def run(index: int) -> tuple[int, str]:
        request = requests[index]
        return index, request.model.answer(request.messages, settings)

    def record(result: tuple[int, str]) -> None:
        nonlocal done
        index, answer = result
        answers[index] = answer
        done += 1
        progress.update(done / len(requests), f"{label} {done}/{len(requests)}")

    try:
        if concurrency <= 1:
            for index in range(len(requests)):
                record(run(index))
        else:
            _run_pool(run, record, len(requests), concurrency)
    finally:
        progress.close()
    return [answer or "" for answer in answers]


def _run_pool(
    run: Callable[[int], tuple[int, str]],
    record: Callable[[tuple[int, str]], None],
    count: int,
    concurrency: int,
) -> None:
    executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="rftctl-generate")
    try:
        futures = [executor.submit(run, index) for index in range(count)]
        for future in as_completed(futures):
            record(future.result())
    finally:
        # On an error or Ctrl-C, drop queued calls instead of paying for them.
        executor.shutdown(wait=False, cancel_futures=True)
