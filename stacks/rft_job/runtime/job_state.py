"""A job's state as its API reports it, and what each of the API's statuses means.

Each API adapter (nova.py, mantle.py) declares its JobStatuses; the states it returns carry them,
so the launcher, the tracker and rftctl ask a state what it means instead of comparing statuses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class JobStatuses:
    """What an API's job statuses mean."""

    running: frozenset[str]
    terminal: frozenset[str]
    succeeded: str
    stopped: str
    # A stop was already requested: neither running (nothing to stop) nor terminal (keep tracking).
    stopping: frozenset[str] = frozenset()

    @property
    def known(self) -> frozenset[str]:
        return self.running | self.stopping | self.terminal


@dataclass(frozen=True)
class JobState:
    variant: str
    job_id: str
    status: str
    statuses: JobStatuses
    job_name: str | None = None
    custom_model_name: str | None = None
    # Nova outputModelArn / mantle fine_tuned_model: set only once the job succeeded.
    output_model: str | None = None
    failure_message: str | None = None
    # Full fingerprint (mantle metadata) or its 8-character prefix (Nova job name).
    fingerprint_hint: str | None = None

    @property
    def running(self) -> bool:
        """May still be working (and billing): Delete must stop or cancel it.

        Any status that is neither terminal nor stopping counts, including one this code does
        not know (the mantle statuses are OpenAI's, unconfirmed for Bedrock): a needless cancel
        request is cheap, a job left running is not.
        """
        return not self.terminal and self.status not in self.statuses.stopping

    @property
    def known_status(self) -> bool:
        """A status this code knows the meaning of (running, stopping or terminal)."""
        return self.status in self.statuses.known

    @property
    def terminal(self) -> bool:
        return self.status in self.statuses.terminal

    @property
    def succeeded(self) -> bool:
        return self.status == self.statuses.succeeded

    @property
    def stopped(self) -> bool:
        return self.status == self.statuses.stopped

    def matches_fingerprint(self, job_fingerprint: str) -> bool:
        # Eight characters (the Nova name part) are plenty to tell this project's jobs apart.
        hint = self.fingerprint_hint
        return hint is not None and len(hint) >= 8 and job_fingerprint.startswith(hint)


# What stopping a job amounted to (Delete reports it in the log).
STOP_REQUESTED = "stop-requested"
ALREADY_ENDED = "already-ended"
NOT_FOUND = "not-found"


def stop_if_running(
    describe: Callable[[], JobState | None],
    request_stop: Callable[[], object],
    *,
    is_not_found: Callable[[Exception], bool],
    is_race: Callable[[Exception], bool],
) -> str:
    """Stop a job only while it runs; returns STOP_REQUESTED, ALREADY_ENDED or NOT_FOUND.

    Every adapter uses this. `describe` returns None for a job the service no longer knows. A
    stop the service rejects because the job just ended (`is_race`) is confirmed by describing
    again; any other error is raised.
    """
    state = describe()
    if state is None:
        return NOT_FOUND
    if not state.running:
        return ALREADY_ENDED
    try:
        request_stop()
    except Exception as exc:
        if is_not_found(exc):
            return NOT_FOUND
        if not is_race(exc):
            raise
        again = describe()
        if again is None:
            return NOT_FOUND
        if again.running:
            raise
        return ALREADY_ENDED
    return STOP_REQUESTED
