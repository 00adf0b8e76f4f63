"""What every command receives: global options, clients, output streams, a clock."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from stacks.rft_job.runtime.contract import Output, Variant

from .errors import ErrorHint

if TYPE_CHECKING:
    from stacks.rft_job.runtime.job_api import JobApi

    from .aws import ClientFactory
    from .stack import DeployedStack


def ask_on_terminal(question: str) -> str | None:
    """The operator's answer, or None when nobody can answer (stdin is not a terminal)."""
    if not sys.stdin.isatty():
        return None
    try:
        # stdout holds only results (plan --json --confirm prints its JSON document there).
        sys.stderr.write(question)
        sys.stderr.flush()
        return input()
    except EOFError:
        return None


@dataclass
class CommandContext:
    clients: ClientFactory
    stack_name: str | None = None
    region: str | None = None
    variant: Variant | None = None
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    # Injected so tests of polling commands do not wait.
    sleep: Callable[[float], None] = time.sleep
    monotonic: Callable[[], float] = time.monotonic
    utc_now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # Injected so tests can answer confirmations (None: no terminal to ask on).
    ask: Callable[[str], str | None] = ask_on_terminal
    hint: ErrorHint = field(default_factory=ErrorHint)
    _stack: DeployedStack | None = None

    def stack(self, required_variant: Variant | None = None) -> DeployedStack:
        """The deployed stack (looked up once per run)."""
        from .stack import find_stack

        variant = required_variant or self.variant
        if self._stack is None or (variant and self._stack.variant is not variant):
            self._stack = find_stack(
                self.clients, stack_name=self.stack_name, region=self.region, variant=variant, hint=self.hint
            )
        return self._stack

    def mantle(self, stack: DeployedStack) -> Any:
        """The mantle client for the stack: at the endpoint it was deployed with (MantleBaseUrl)."""
        return self.clients.mantle(stack.region, base_url=stack.optional_output(Output.MANTLE_BASE_URL))

    def job_api(self, stack: DeployedStack) -> JobApi:
        """The stack's job API (Nova or mantle), on this run's clients."""
        from stacks.rft_job.runtime.job_api import Connections, job_api

        region = stack.region
        return job_api(
            stack.variant,
            Connections(
                region=region,
                aws=lambda service: self.clients.client(service, region),
                mantle=lambda: self.mantle(stack),
            ),
        )

    def print(self, text: str = "") -> None:
        print(text, file=self.out)

    def print_json(self, kind: str, version: int, payload: dict[str, Any]) -> None:
        """The result as one JSON document on stdout (--json): see console.json_document."""
        from .console import json_document, json_text

        self.print(json_text(json_document(kind, version, payload)))

    def note(self, text: str) -> None:
        """Progress and warnings go to stderr so stdout stays a clean result."""
        print(text, file=self.err)

    def confirm(self, question: str, *, word: str, assume_yes: bool) -> bool:
        """True when the operator typed `word` (or passed --yes); never true without a terminal."""
        if assume_yes:
            return True
        answer = self.ask(f"{question} Type {word!r} to go on: ")
        return answer is not None and answer.strip().lower() == word
