"""One interface for every Bedrock API that runs RFT jobs, and the registry of its implementations.

The launcher, the tracker and rftctl work with a job through a JobApi: create it (safely, when an
answer is lost), find a launch's job, describe it, stop it, and what its statuses mean. Each API
is one adapter module (nova.py: bedrock CreateModelCustomizationJob; mantle.py: bedrock-mantle's
OpenAI-compatible fine-tuning API), registered below under its Variant. A third API is a third
module, a row in ADAPTERS, and its entry in the configuration (stacks/config.py, stacks/models.py).
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from .contract import Variant

if TYPE_CHECKING:
    from .errors import CallContext
    from .job_spec import JobSpec
    from .job_state import JobState, JobStatuses
    from .ledger import LaunchRecord, LedgerEntry
    from .naming import LaunchNames


@dataclass(frozen=True)
class Connections:
    """Where an adapter gets its clients: the Lambdas' cached ones (clients.py), or rftctl's own.

    `aws(service)` is a boto3 client in the job's region; `mantle()` the OpenAI SDK client for
    bedrock-mantle. An adapter calls only what its API needs, when it needs it.
    """

    region: str
    aws: Callable[[str], Any]
    mantle: Callable[[], Any]


@dataclass
class Launch:
    """One launch, as the launcher hands it to the job's API."""

    spec: JobSpec
    names: LaunchNames
    token: str  # this CloudFormation request's idempotency token (naming.request_token)
    fingerprint: str
    stack_id: str
    logical_resource_id: str
    record: LaunchRecord  # the launch's entry in the job ledger
    deadline: float | None  # time.monotonic() by which the invocation must be done


class JobApi(ABC):
    """A Bedrock API that runs RFT jobs."""

    variant: ClassVar[Variant]
    statuses: ClassVar[JobStatuses]
    # Whether the API takes the job's name wherever it takes its id (rftctl --job NAME).
    takes_job_names: ClassVar[bool]
    # Whether ids are unmistakable (an ARN): such an id names this API's job whatever a spec says.
    unambiguous_ids: ClassVar[bool]
    # What the API does when asked to stop a job, for messages: "stopped" or "cancelled".
    stopped_word: ClassVar[str]
    # One sentence on how to use the trained model, for the notification.
    model_usage: ClassVar[str]
    # Whether a trained model is invoked through a deployment the tracker can create (Nova's
    # on-demand deployment, rft:nova.createModelDeployment).
    deploys_models: ClassVar[bool] = False

    @classmethod
    @abstractmethod
    def connect(cls, connections: Connections) -> JobApi:
        """The adapter, with the clients it needs."""

    @staticmethod
    @abstractmethod
    def is_job_id(value: str | None) -> bool:
        """Whether `value` can be one of this API's job ids (not a placeholder or an unset value)."""

    @classmethod
    def check_spec(cls, spec: JobSpec) -> None:
        """Raise JobSpecError when the spec lacks what this API needs beyond the common fields."""
        return None  # an API that needs nothing more

    @classmethod
    @abstractmethod
    def definitely_rejected(cls, error: BaseException | None) -> bool:
        """Whether a create that failed with `error` (the LaunchFailure's cause) certainly started no job."""

    @classmethod
    @abstractmethod
    def custom_model_name(cls, names: LaunchNames) -> str:
        """The trained model's name as the stack reports it at launch."""

    @classmethod
    @abstractmethod
    def custom_model_name_of(cls, state: JobState | None) -> str | None:
        """The trained model's name as the stack reports it for an existing job (None: unknown)."""

    @abstractmethod
    def launch(self, launch: Launch) -> str:
        """Create the launch's job exactly once and return its id.

        A re-invoked request finds the job it created (by its ledger entry, name or token)
        instead of creating another; an answer that is lost after the request was sent is
        resolved by looking the job up, never by sending the create again blindly. Failures
        raise LaunchFailure with the reason CloudFormation shows.
        """

    @abstractmethod
    def describe(self, job_id: str) -> JobState | None:
        """The job's state, or None if the service no longer knows it."""

    @abstractmethod
    def find(self, entry: LedgerEntry) -> JobState | None:
        """The job of a ledger entry whose id was never recorded (its create answer was lost), or None."""

    @abstractmethod
    def stop(self, job_id: str) -> str:
        """Stop the job unless it already ended: STOP_REQUESTED, ALREADY_ENDED or NOT_FOUND."""

    @abstractmethod
    def describe_call(self, job_id: str, principal: str) -> CallContext:
        """What describing the job is, for a failure reason."""

    @abstractmethod
    def stop_call(self, job_id: str, principal: str) -> CallContext:
        """What stopping the job is, for a failure reason."""

    def ensure_deployment(self, *, name: str, model_arn: str, token: str, description: str) -> str:
        """The trained model's deployment, created once; its ARN (only where deploys_models)."""
        raise NotImplementedError(f"{self.variant.value} models are invoked without a deployment")

    def deployment_call(self, model: str, principal: str) -> CallContext:
        """What creating the deployment is, for a failure reason (only where deploys_models)."""
        raise NotImplementedError(f"{self.variant.value} models are invoked without a deployment")


# The registry: each Variant's adapter module, imported when it is first used.
ADAPTERS: dict[Variant, tuple[str, str]] = {
    Variant.NOVA: (".nova", "NovaJobs"),
    Variant.MANTLE: (".mantle", "MantleJobs"),
}


def api_class(variant: Variant | str) -> type[JobApi]:
    module_name, class_name = ADAPTERS[Variant(variant)]
    adapter: type[JobApi] = getattr(importlib.import_module(module_name, __package__), class_name)
    assert issubclass(adapter, JobApi) and adapter.variant is Variant(variant)
    return adapter


def job_api(variant: Variant | str, connections: Connections) -> JobApi:
    return api_class(variant).connect(connections)


def _unmistakable_owner(value: str | None) -> Variant | None:
    """The API whose ids cannot be mistaken (an ARN of its own form) that claims `value`, if any."""
    for variant in ADAPTERS:
        adapter = api_class(variant)
        if adapter.unambiguous_ids and adapter.is_job_id(value):
            return variant
    return None


def is_job_id(variant: Variant | str, value: str | None) -> bool:
    """Whether `value` can be a job id of `variant`'s API, and is not unmistakably another API's."""
    owner = _unmistakable_owner(value)
    return api_class(variant).is_job_id(value) and owner in (None, Variant(variant))


def variant_of_job_id(value: str | None, declared: Variant | None) -> Variant | None:
    """Which API's job `value` is: the one whose ids are unmistakable, else the declared variant's.

    None when it is nobody's (the Provider framework's placeholder after a failed Create, an
    unset parameter value): then there is no job.
    """
    owner = _unmistakable_owner(value)
    if owner is not None:
        return owner
    if declared is not None:
        return declared if api_class(declared).is_job_id(value) else None
    candidates = [variant for variant in ADAPTERS if api_class(variant).is_job_id(value)]
    return candidates[0] if len(candidates) == 1 else None
