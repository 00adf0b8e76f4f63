"""A customization job's state as both adapters report it, and what each status means."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

NOVA_RUNNING = frozenset({"InProgress"})
NOVA_TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
NOVA_SUCCEEDED = "Completed"
NOVA_STOPPED = "Stopped"
# A stop was already requested: neither running (nothing to stop) nor terminal (keep tracking).
NOVA_STOPPING = frozenset({"Stopping"})

MANTLE_RUNNING = frozenset({"validating_files", "queued", "running"})
MANTLE_TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
MANTLE_SUCCEEDED = "succeeded"
MANTLE_STOPPED = "cancelled"

# Reported by the tracker when the service no longer knows the job.
NOT_FOUND_STATUS = "NotFound"


@dataclass(frozen=True)
class JobState:
    variant: str
    job_id: str
    status: str
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

        Any status that is neither terminal nor Nova's Stopping counts, including one this code
        does not know (the mantle statuses are OpenAI's, unconfirmed for Bedrock): a needless
        cancel request is cheap, a job left running is not.
        """
        return not self.terminal and not (self.variant == "nova" and self.status in NOVA_STOPPING)

    @property
    def known_status(self) -> bool:
        """A status this code knows the meaning of (running, stopping or terminal)."""
        if self.variant == "nova":
            return self.status in NOVA_RUNNING | NOVA_STOPPING | NOVA_TERMINAL
        return self.status in MANTLE_RUNNING | MANTLE_TERMINAL

    @property
    def terminal(self) -> bool:
        return self.status in (NOVA_TERMINAL if self.variant == "nova" else MANTLE_TERMINAL)

    @property
    def succeeded(self) -> bool:
        return self.status == (NOVA_SUCCEEDED if self.variant == "nova" else MANTLE_SUCCEEDED)

    @property
    def stopped(self) -> bool:
        return self.status == (NOVA_STOPPED if self.variant == "nova" else MANTLE_STOPPED)

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
    request_stop: Callable[[], None],
    *,
    is_not_found: Callable[[Exception], bool],
    is_race: Callable[[Exception], bool],
) -> str:
    """Stop a job only while it runs; returns STOP_REQUESTED, ALREADY_ENDED or NOT_FOUND.

    Both adapters use this. `describe` returns None for a job the service no longer knows. A
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
