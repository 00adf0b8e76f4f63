"""A customization job's state as both adapters report it, and what each status means."""

from __future__ import annotations

from dataclasses import dataclass

NOVA_RUNNING = frozenset({"InProgress"})
NOVA_TERMINAL = frozenset({"Completed", "Failed", "Stopped"})
NOVA_SUCCEEDED = "Completed"
NOVA_STOPPED = "Stopped"

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
        """Still working: Delete must stop or cancel it. (Nova Stopping is neither running nor terminal.)"""
        return self.status in (NOVA_RUNNING if self.variant == "nova" else MANTLE_RUNNING)

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
