"""Run a synthesized state machine for real: moto's Step Functions interpreter, Lambda tasks in-process.

moto 5 ships LocalStack's Amazon States Language interpreter ("stepfunctions parser"): with
`mock_aws(config={"stepfunctions": {"execute_state_machine": True}})` an execution walks the
definition state by state (Pass, Choice, Wait, Retry, Catch, intrinsic functions), calls the
service integrations against moto's own backends (SSM, SNS, Step Functions) and records the
history as Step Functions does. Four small seams make it usable here, each patched only inside
`asl_interpreter()` and each written against one moto version (MOTO_VERSION; another one stops
the import, since they reach into moto's internals):

- Lambda tasks: moto's Lambda runs functions in Docker, which does not run here. The seam is
  `LambdaFunction._invoke_lambda`, the one method that starts the container: the request still
  goes through boto3, moto's Lambda API and its error handling; only the run of the code is
  replaced by importing the function's `Handler` and calling it with the function's own
  environment variables (the template's, resolved), as the Lambda runtime would.
- `StartExecution` from a state machine: moto 5.2.5 hands the state's `Input`/`StateMachineArn`
  to boto3 under their ASL (PascalCase) names, and botocore's serializer fails with
  KeyError 'Input', so every `states:startExecution` task ends in States.Runtime. The base
  class's `_normalise_parameters` and `_normalise_response` are no-ops in moto's copy of the
  interpreter (LocalStack's map the names through the service model there). The patch does
  that mapping for this one action, both ways, with the interpreter's own `_to_boto_request`
  and `_from_boto_response`, and writes the answer's StartDate as the ISO text the history
  shows: left a datetime, it makes moto's DescribeExecution of the handing-over execution
  (whose output it is) fail to serialize.
- An execution started without a name (as that task starts one) gets none in moto's interpreter
  backend, so its ARN ends in ":None"; Step Functions (and moto's other backend) names it with a
  UUID, as the patch does.
- Time: Wait states and retry back-off advance a VirtualClock instead of sleeping, so a 5-minute
  poll interval and half an hour of retries take no real time, and the tests can assert on the
  intervals the definition asked for.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from unittest import mock

import boto3
import botocore.session
import moto

MOTO_VERSION = "5.2.5"
if moto.__version__ != MOTO_VERSION:
    raise RuntimeError(
        f"tests/stacks/rft_job/moto_asl.py patches moto {MOTO_VERSION}'s Step Functions interpreter; moto "
        f"{moto.__version__} is installed. Install the pinned moto, or re-check each patch against the new one."
    )

from moto import mock_aws  # noqa: E402
from moto.awslambda.models import LambdaFunction  # noqa: E402
from moto.core import DEFAULT_ACCOUNT_ID  # noqa: E402
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl  # noqa: E402
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (  # noqa: E402
    StateTaskServiceSfn,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (  # noqa: E402
    WaitFunction,
)
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str  # noqa: E402
from moto.stepfunctions.parser.models import (  # noqa: E402
    StepFunctionsParserBackend,
    stepfunctions_parser_backends,
)

ACCOUNT_ID = DEFAULT_ACCOUNT_ID
FINISHED_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})


# --- CloudFormation tokens ---------------------------------------------------------------


def resolve(value: Any, names: Mapping[str, str]) -> Any:
    """`value` with Ref, Fn::GetAtt and Fn::Join replaced: `names` maps "LogicalId" (and pseudo
    parameters such as "AWS::Partition") for a Ref, "LogicalId.Attribute" for a GetAtt."""
    if isinstance(value, list):
        return [resolve(item, names) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return _name(names, value["Ref"], value)
    if set(value) == {"Fn::GetAtt"}:
        logical_id, attribute = value["Fn::GetAtt"]
        return _name(names, f"{logical_id}.{attribute}", value)
    if set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(str(resolve(part, names)) for part in parts)
    if any(key.startswith("Fn::") for key in value):
        raise ValueError(f"resolve() does not know the intrinsic function in {json.dumps(value)[:200]}")
    return {key: resolve(item, names) for key, item in value.items()}


def _name(names: Mapping[str, str], key: str, token: Any) -> str:
    if key not in names:
        raise KeyError(f"no value given for {json.dumps(token)} (known: {', '.join(sorted(names))})")
    return names[key]


def pseudo_parameters(region: str, stack_name: str) -> dict[str, str]:
    return {
        "AWS::Partition": "aws",
        "AWS::Region": region,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": stack_name,
        "AWS::StackId": f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{stack_name}/"
                        "6b5e2c10-0000-4000-8000-0123456789ab",
    }


def resources_of_type(template: Mapping[str, Any], type_name: str) -> dict[str, dict[str, Any]]:
    return {logical_id: resource for logical_id, resource in template["Resources"].items()
            if resource["Type"] == type_name}


def state_machine_definitions(template: Mapping[str, Any], names: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Every state machine of the template by logical id, its DefinitionString resolved and parsed."""
    return {logical_id: json.loads(resolve(resource["Properties"]["DefinitionString"], names))
            for logical_id, resource in resources_of_type(template, "AWS::StepFunctions::StateMachine").items()}


# --- time ---------------------------------------------------------------------------------


@dataclass
class VirtualClock:
    """Time as the executions see it: Wait states and retry back-off move it on instead of sleeping.

    `on_wait` callbacks run at each Wait state (the job moves on while the tracker waits).
    """

    now: float = 1_800_000_000.0
    waits: list[float] = field(default_factory=list)
    backoffs: list[float] = field(default_factory=list)
    on_wait: list[Callable[[], None]] = field(default_factory=list)

    def time(self) -> float:
        return self.now

    def wait(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds
        for callback in self.on_wait:
            callback()

    def back_off(self, seconds: float) -> None:
        self.backoffs.append(seconds)
        self.now += seconds


# --- Lambda functions in-process ---------------------------------------------------------


@dataclass(frozen=True)
class Invocation:
    function_name: str
    event: Any
    result: Any = None
    error: str | None = None  # the exception's type name, Lambda's errorType


@dataclass(frozen=True)
class InProcessContext:
    """The Lambda context object, for the function being invoked."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_seconds * 1000


@contextmanager
def _environment(variables: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _in_process_invoker(invocations: list[Invocation]) -> Callable[..., tuple[str, bool, str]]:
    lock = threading.Lock()  # one function run at a time: they share os.environ

    def invoke(function: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
        module_name, _, attribute = function.handler.rpartition(".")
        handler = getattr(importlib.import_module(module_name), attribute)
        context = InProcessContext(
            function_name=function.function_name,
            invoked_function_arn=function.function_arn,
            memory_limit_in_mb=int(function.memory_size),
            timeout_seconds=int(function.timeout),
        )
        # The runtime's own variables, then the function's (the credentials stay the test's).
        variables = {
            "AWS_REGION": function.region,
            "AWS_DEFAULT_REGION": function.region,
            "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            **function.environment_vars,
        }
        with lock, _environment(variables):
            try:
                result = handler(event if event is not None else {}, context)
            except Exception as exc:
                invocations.append(Invocation(function.function_name, event, error=type(exc).__name__))
                # What the Lambda runtime returns for an unhandled exception.
                payload = {"errorType": type(exc).__name__, "errorMessage": str(exc),
                           "stackTrace": traceback.format_tb(exc.__traceback__)}
                return json.dumps(payload), True, traceback.format_exc()
        invocations.append(Invocation(function.function_name, event, result=result))
        return json.dumps(result), False, ""

    return invoke


# --- the interpreter's StartExecution and execution names -------------------------------

# One loader for every test's botocore session: each service model is parsed once per process
# (moto resets boto3's default session per mock; a fresh loader costs about 50 ms a client).
_botocore = botocore.session.get_session()
_LOADER = _botocore.get_component("data_loader")
_start_execution = _botocore.get_service_model("stepfunctions").operation_model("StartExecution")
_original_normalise = StateTaskServiceSfn._normalise_parameters
_original_start_execution = StepFunctionsParserBackend.start_execution


def _normalise_sfn_parameters(self: StateTaskServiceSfn, parameters: dict[str, Any],
                              boto_service_name: str | None = None, service_action_name: str | None = None) -> None:
    _original_normalise(self, parameters, boto_service_name, service_action_name)  # Input as JSON text
    if service_action_name is None and self._get_boto_service_action() == "start_execution":
        self._to_boto_request(parameters, _start_execution.input_shape)  # Input -> input, StateMachineArn -> ...


def _normalise_sfn_response(self: StateTaskServiceSfn, response: Any, boto_service_name: str | None = None,
                            service_action_name: str | None = None) -> None:
    if service_action_name is None and self._get_boto_service_action() == "start_execution":
        self._from_boto_response(response, _start_execution.output_shape)  # executionArn -> ExecutionArn, ...
        response.update(json.loads(to_json_str(response)))  # StartDate: datetime -> ISO text


def _start_named_execution(self: StepFunctionsParserBackend, state_machine_arn: str, name: str | None = None,
                           execution_input: str | None = None, trace_header: str | None = None) -> Any:
    return _original_start_execution(self, state_machine_arn, name or str(uuid.uuid4()), execution_input,
                                     trace_header)


# --- the whole seam --------------------------------------------------------------------


@dataclass
class Interpreter:
    clock: VirtualClock
    invocations: list[Invocation] = field(default_factory=list)


@contextmanager
def asl_interpreter(clock: VirtualClock | None = None) -> Iterator[Interpreter]:
    """moto with its ASL interpreter on, Lambda functions run in-process, time on `clock`.

    moto's fake credentials are off: the test's own (fake) ones sign requests, so that the fake
    mantle server can verify them.
    """
    interpreter = Interpreter(clock or VirtualClock())
    clock = interpreter.clock
    invoke = _in_process_invoker(interpreter.invocations)

    def wait_interval(self: WaitFunction, env: Any, wait_seconds: int) -> None:
        clock.wait(wait_seconds)

    config = {"stepfunctions": {"execute_state_machine": True}, "core": {"mock_credentials": False}}
    with (
        mock_aws(config=config),
        mock.patch.object(LambdaFunction, "_invoke_lambda", invoke),
        mock.patch.object(StateTaskServiceSfn, "_normalise_parameters", _normalise_sfn_parameters),
        mock.patch.object(StateTaskServiceSfn, "_normalise_response", _normalise_sfn_response),
        mock.patch.object(StepFunctionsParserBackend, "start_execution", _start_named_execution),
        mock.patch.object(WaitFunction, "_wait_interval", wait_interval),
        mock.patch.object(retrier_decl, "time", SimpleNamespace(sleep=clock.back_off)),
    ):
        session = botocore.session.Session()
        session.register_component("data_loader", _LOADER)
        boto3.setup_default_session(botocore_session=session)  # moto puts the previous one back at exit
        try:
            yield interpreter
        finally:
            _stop_running_executions()


def _stop_running_executions(timeout_seconds: float = 5.0) -> None:
    """An execution a test left running (a definition that loops, a failed assertion) must not go on
    calling AWS from moto's worker thread once the mock is gone: stop it, and let its current state end."""
    running = [(backend, execution) for account in stepfunctions_parser_backends.values()
               for backend in account.values() for machine in backend.state_machines
               for execution in machine.executions if execution.status == "RUNNING"]
    for backend, execution in running:
        backend.stop_execution(execution.execution_arn)
    deadline = time.monotonic() + timeout_seconds
    while any(execution.status == "RUNNING" for _, execution in running) and time.monotonic() < deadline:
        time.sleep(0.01)


def wait_until_finished(sfn: Any, execution_arn: str, timeout_seconds: float = 10.0) -> dict[str, Any]:
    """describe_execution once the execution has ended (it runs on moto's worker thread)."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] in FINISHED_STATUSES:
            return described
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution {execution_arn} still {described['status']} after {timeout_seconds} s")
        time.sleep(0.005)


def history(sfn: Any, execution_arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"executionArn": execution_arn}
    while True:
        page = sfn.get_execution_history(**kwargs)
        events.extend(page["events"])
        if not page.get("nextToken"):
            return events
        kwargs["nextToken"] = page["nextToken"]


def entered_states(events: list[dict[str, Any]]) -> list[str]:
    """The names of the states the execution entered, in order."""
    return [event["stateEnteredEventDetails"]["name"] for event in events if "stateEnteredEventDetails" in event]
