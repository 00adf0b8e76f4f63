"""The AWS calls the runtime makes in the tests, and what IAM authorises for each.

`CallRecorder` hooks botocore's event system on every client created while it is installed
(`before-parameter-build` for the parameters as the code passed them, `after-call` for the answer),
Stubber-answered calls included, and files each call under the
principal the test says is acting (`acting_as`). Mantle's HTTP calls are read from the fake mantle
server's request log (tests/stacks/rft_job/fake_mantle.py).

`accesses_of` maps a call to the IAM authorisations AWS makes for it: the action, the resource ARN
and the context keys in play. The table holds exactly the operations the launcher, the tracker and
the grader call; a call it does not know raises `UnmappedCall`, so it cannot fall behind the code.
Each entry follows the Service Authorization Reference (the actions, resource types and condition
keys of "Amazon Bedrock", "Amazon Bedrock Powered by AWS Mantle", "Amazon S3", ...); the evaluator
also refuses an action, resource type or context key that reference does not list for the action.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.session
import pytest

from tests.stacks.iam_policies import BEDROCK_SERVICE, PARTITION

# Every mantle call goes to the account's default project: the runtime names none (no project header).
MANTLE_PROJECT = "default"
# Where a geographic inference profile routes a request: AWS user guide, "Supported Regions and models
# for inference profiles". A profile not listed here is an unmapped call (look its Regions up, add it).
INFERENCE_PROFILE_REGIONS: dict[str, tuple[str, ...]] = {
    "us.amazon.nova-2-lite-v1:0": ("us-east-1", "us-east-2", "us-west-2"),
}


class UnmappedCall(AssertionError):
    """The runtime made a call the table below does not know: add its IAM mapping."""


@dataclass
class AwsCall:
    service: str  # botocore's service name: s3, bedrock, bedrock-runtime, stepfunctions, ...
    operation: str  # the API operation: GetObject, CreateModelCustomizationJob, ...
    region: str
    params: dict[str, Any]
    endpoint: str = ""  # the client's endpoint URL: its scheme is what aws:SecureTransport reports
    status: int | None = None
    parsed: dict[str, Any] = field(default_factory=dict)

    @property
    def secure(self) -> bool:
        return self.endpoint.startswith("https://")

    def __str__(self) -> str:
        return f"{self.service}.{self.operation} in {self.region}"


@dataclass(frozen=True)
class HttpCall:
    """One request to bedrock-mantle's OpenAI-compatible API (route below the /v1 prefix)."""

    method: str
    route: str
    body: Any
    region: str

    def __str__(self) -> str:
        return f"bedrock-mantle {self.method} {self.route}"


@dataclass(frozen=True)
class Access:
    """One authorisation: `action` on `resource` with these context keys; `call` says what it is for."""

    call: str
    action: str
    resource: str
    context: Mapping[str, str | Sequence[str]] = field(default_factory=dict)


# ---- recording ---------------------------------------------------------------------------------------


class CallRecorder:
    """Every botocore call made while installed, filed under the principal acting at the time."""

    _CONTEXT_KEY = "iam_recorder.call"

    def __init__(self) -> None:
        self.calls: dict[str, list[AwsCall]] = {}
        self._acting: str | None = None

    def install(self, monkeypatch: pytest.MonkeyPatch) -> CallRecorder:
        original = botocore.session.Session.create_client
        recorder = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            recorder._hook(client)
            return client

        monkeypatch.setattr(botocore.session.Session, "create_client", create_client)
        return self

    @contextmanager
    def acting_as(self, principal: str) -> Iterator[list[AwsCall]]:
        """Calls made in the block are `principal`'s (a key such as "launcher")."""
        assert self._acting is None, f"already recording for {self._acting}"
        self._acting = principal
        try:
            yield self.calls.setdefault(principal, [])
        finally:
            self._acting = None

    def _hook(self, client: Any) -> None:
        service = client.meta.service_model.service_name
        region, endpoint = client.meta.region_name, client.meta.endpoint_url
        events = client.meta.events

        def record(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
            if self._acting is None:
                raise AssertionError(f"{service}.{model.name} called outside CallRecorder.acting_as")
            call = AwsCall(service, model.name, region, copy.deepcopy(params), endpoint)
            context[self._CONTEXT_KEY] = call
            self.calls[self._acting].append(call)

        def note_answer(http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            if self._CONTEXT_KEY in context:
                call = context[self._CONTEXT_KEY]
                call.status = http_response.status_code
                call.parsed = {k: v for k, v in parsed.items() if k in ("Error", "jobArn")}

        events.register("before-parameter-build", record)
        events.register("after-call", note_answer)


def mantle_calls(requests: Sequence[Any], region: str) -> list[HttpCall]:
    """The fake mantle server's received requests (fake_mantle.ReceivedRequest), each signature verified."""
    found = []
    for request in requests:
        assert request.signature_ok, f"{request.method} {request.raw_path} was not signed for bedrock-mantle"
        is_json = request.body and request.headers.get("content-type", "").startswith("application/json")
        body = request.json() if is_json else None
        found.append(HttpCall(request.method, request.route, body, region))
    return found


# ---- the table: API call -> IAM ----------------------------------------------------------------------


@dataclass
class Knowledge:
    """What the table needs beyond a call's parameters: a job's tags (its create sent them: they are the
    job's resource tags later), and the KMS key of each encrypted topic (from the template)."""

    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    topic_keys: dict[str, str] = field(default_factory=dict)

    def learn(self, calls: Sequence[AwsCall]) -> None:
        for call in calls:
            if (call.service, call.operation) == ("bedrock", "CreateModelCustomizationJob") and call.status == 200:
                tags = _tag_map(call.params.get("jobTags", []))
                self.tags[str(call.parsed["jobArn"])] = tags
                self.tags[str(call.params["jobName"])] = tags


def _tag_map(tags: Sequence[Mapping[str, str]]) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in tags}


def _tags_context(prefix: str, tags: Mapping[str, str], *, keys: bool) -> dict[str, str | list[str]]:
    context: dict[str, str | list[str]] = {f"aws:{prefix}/{key}": value for key, value in tags.items()}
    if keys and tags:
        context["aws:TagKeys"] = sorted(tags)
    return context


def _bedrock_arn(region: str, account: str, resource: str) -> str:
    return f"arn:{PARTITION}:bedrock:{region}:{account}:{resource}"


def _named(region: str, account: str, kind: str, identifier: str) -> str:
    """A Bedrock resource given by ARN or by name (an ARN of the name: all grants here are per kind)."""
    return identifier if identifier.startswith("arn:") else _bedrock_arn(region, account, f"{kind}/{identifier}")


def foundation_model_arn(model: str, region: str) -> str:
    return model if model.startswith("arn:") else f"arn:{PARTITION}:bedrock:{region}::foundation-model/{model}"


def _secure(call: AwsCall) -> dict[str, str]:
    return {"aws:SecureTransport": "true" if call.secure else "false"}


def _s3_object(call: AwsCall) -> str:
    return f"arn:{PARTITION}:s3:::{call.params['Bucket']}/{call.params['Key']}"


AwsRule = Callable[[AwsCall, str, Knowledge], list[Access]]


def _get_object(call: AwsCall, account: str, known: Knowledge) -> list[Access]:
    return [Access(str(call), "s3:GetObject", _s3_object(call), _secure(call))]


def _put_object(call: AwsCall, account: str, known: Knowledge) -> list[Access]:
    context: dict[str, str | Sequence[str]] = _secure(call)
    for param, key in (("IfNoneMatch", "s3:if-none-match"), ("IfMatch", "s3:if-match")):
        if param in call.params:
            context[key] = str(call.params[param])
    return [Access(str(call), "s3:PutObject", _s3_object(call), context)]


def _list_objects(call: AwsCall, account: str, known: Knowledge) -> list[Access]:
    context: dict[str, str | Sequence[str]] = _secure(call)
    if "Prefix" in call.params:
        context["s3:prefix"] = str(call.params["Prefix"])
    if "MaxKeys" in call.params:
        context["s3:max-keys"] = str(call.params["MaxKeys"])
    return [Access(str(call), "s3:ListBucket", f"arn:{PARTITION}:s3:::{call.params['Bucket']}", context)]


def _create_job(call: AwsCall, account: str, known: Knowledge) -> list[Access]:
    """CreateModelCustomizationJob: the action on the base model and the custom model it makes (the
    reference's two required resource types); tags sent with it are authorised as TagResource on the
    job and on the model too (the reading stacks/rft_job/api_access.py takes; the reference lists
    aws:RequestTag on the create itself); and passing the service role is iam:PassRole."""
    p, region, what = call.params, call.region, str(call)
    job = _bedrock_arn(region, account, f"model-customization-job/{p['jobName']}")
    model = _bedrock_arn(region, account, f"custom-model/{p['customModelName']}")
    job_tags, model_tags = _tag_map(p.get("jobTags", [])), _tag_map(p.get("customModelTags", []))
    request_tags = _tags_context("RequestTag", {**job_tags, **model_tags}, keys=True)
    accesses = [
        Access(what, "bedrock:CreateModelCustomizationJob", foundation_model_arn(p["baseModelIdentifier"], region),
               request_tags),
        Access(what, "bedrock:CreateModelCustomizationJob", model, request_tags),
        Access(what, "iam:PassRole", str(p["roleArn"]), {"iam:PassedToService": BEDROCK_SERVICE}),
    ]
    for resource, tags in ((job, job_tags), (model, model_tags)):
        if tags:
            accesses.append(Access(f"{what} (tags)", "bedrock:TagResource", resource,
                                   _tags_context("RequestTag", tags, keys=True)))
    return accesses


def _job_action(action: str) -> AwsRule:
    def rule(call: AwsCall, account: str, known: Knowledge) -> list[Access]:
        identifier = str(call.params["jobIdentifier"])
        context = _tags_context("ResourceTag", known.tags.get(identifier, {}), keys=False)
        return [Access(str(call), action, _named(call.region, account, "model-customization-job", identifier),
                       context)]

    return rule


def _get_deployment(call: AwsCall, account: str, known: Knowledge) -> list[Access]:
    identifier = str(call.params["customModelDeploymentIdentifier"])
    return [Access(str(call), "bedrock:GetCustomModelDeployment",
                   _named(call.region, account, "custom-model-deployment", identifier))]


def _create_deployment(call: AwsCall, account: str, known: Knowledge) -> list[Access]:
    tags = _tag_map(call.params.get("tags", []))
    return [Access(str(call), "bedrock:CreateCustomModelDeployment", str(call.params["modelArn"]),
                   _tags_context("RequestTag", tags, keys=True))]


def _converse(call: AwsCall, account: str, known: Knowledge) -> list[Access]:
    """Converse is authorised as bedrock:InvokeModel: on the foundation model, or on the inference profile
    and then on the model in each Region the profile routes to, with bedrock:InferenceProfileArn."""
    model, region, what = str(call.params["modelId"]), call.region, str(call)
    geography = model.split(".", 1)[0]
    if geography not in ("us", "global", "eu", "apac", "jp", "au", "ca"):
        return [Access(what, "bedrock:InvokeModel", foundation_model_arn(model, region))]
    if model not in INFERENCE_PROFILE_REGIONS:
        raise UnmappedCall(f"{what}: inference profile {model} is not in INFERENCE_PROFILE_REGIONS "
                           "(tests/stacks/iam_recorder.py): add the Regions it routes to")
    profile = _bedrock_arn(region, account, f"inference-profile/{model}")
    base = model.split(".", 1)[1]
    return [Access(what, "bedrock:InvokeModel", profile)] + [
        Access(f"{what} (routed to {destination})", "bedrock:InvokeModel",
               foundation_model_arn(base, destination), {"bedrock:InferenceProfileArn": profile})
        for destination in INFERENCE_PROFILE_REGIONS[model]
    ]


def _start_execution(call: AwsCall, account: str, known: Knowledge) -> list[Access]:
    return [Access(str(call), "states:StartExecution", str(call.params["stateMachineArn"]))]


def _parameter_arn(call: AwsCall, account: str) -> str:
    name = str(call.params["Name"])
    return f"arn:{PARTITION}:ssm:{call.region}:{account}:parameter{name if name.startswith('/') else '/' + name}"


def _get_parameter(call: AwsCall, account: str, known: Knowledge) -> list[Access]:
    return [Access(str(call), "ssm:GetParameter", _parameter_arn(call, account))]


def _put_parameter(call: AwsCall, account: str, known: Knowledge) -> list[Access]:
    context = {"ssm:Overwrite": "true" if call.params.get("Overwrite") else "false"}
    return [Access(str(call), "ssm:PutParameter", _parameter_arn(call, account), context)]


def _publish(call: AwsCall, account: str, known: Knowledge) -> list[Access]:
    """sns:Publish; to a topic encrypted with a customer managed key, SNS also uses the key with the
    publisher's rights (kms:GenerateDataKey and kms:Decrypt, through SNS). An AWS managed key (alias/aws/sns)
    is usable by every principal of the account through SNS: no grant of ours is involved."""
    topic = str(call.params["TopicArn"])
    accesses = [Access(str(call), "sns:Publish", topic, _secure(call))]
    key = known.topic_keys.get(topic)
    if key is not None and not key.startswith("alias/aws/"):
        if not key.startswith("arn:"):
            raise UnmappedCall(f"{call}: the topic's key is given as {key!r}; only key ARNs are mapped")
        context = {"kms:ViaService": f"sns.{call.region}.amazonaws.com", "kms:CallerAccount": account}
        accesses += [Access(f"{call} (the topic's key)", action, key, context)
                     for action in ("kms:GenerateDataKey", "kms:Decrypt")]
    return accesses


def _describe_stacks(call: AwsCall, account: str, known: Knowledge) -> list[Access]:
    stack = str(call.params.get("StackName", ""))
    if not stack.startswith("arn:"):
        raise UnmappedCall(f"{call}: DescribeStacks by name ({stack!r}) is not mapped: the tracker passes the "
                           "stack's id (an ARN)")
    return [Access(str(call), "cloudformation:DescribeStacks", stack)]


AWS_ACTIONS: dict[tuple[str, str], AwsRule] = {
    ("s3", "GetObject"): _get_object,
    ("s3", "PutObject"): _put_object,
    ("s3", "ListObjectsV2"): _list_objects,
    ("bedrock", "CreateModelCustomizationJob"): _create_job,
    ("bedrock", "GetModelCustomizationJob"): _job_action("bedrock:GetModelCustomizationJob"),
    ("bedrock", "StopModelCustomizationJob"): _job_action("bedrock:StopModelCustomizationJob"),
    ("bedrock", "GetCustomModelDeployment"): _get_deployment,
    ("bedrock", "CreateCustomModelDeployment"): _create_deployment,
    ("bedrock-runtime", "Converse"): _converse,
    ("stepfunctions", "StartExecution"): _start_execution,
    ("ssm", "GetParameter"): _get_parameter,
    ("ssm", "PutParameter"): _put_parameter,
    ("sns", "Publish"): _publish,
    ("cloudformation", "DescribeStacks"): _describe_stacks,
}


def _mantle_project(call: HttpCall, account: str) -> str:
    return f"arn:{PARTITION}:bedrock-mantle:{call.region}:{account}:project/{MANTLE_PROJECT}"


def _create_fine_tuning_job(call: HttpCall, match: re.Match[str]) -> dict[str, str | Sequence[str]]:
    body = call.body or {}
    files = [body[key] for key in ("training_file", "validation_file") if body.get(key)]
    return {"bedrock-mantle:Model": str(body.get("model")), "bedrock-mantle:Files": files}


MantleContext = Callable[[HttpCall, re.Match[str]], Mapping[str, str | Sequence[str]]]
# (method, route below /v1, action, its context keys): bedrock-mantle authorises every action on the project.
MANTLE_ROUTES: tuple[tuple[str, str, str, MantleContext], ...] = (
    ("POST", r"/files", "bedrock-mantle:CreateFile", lambda call, m: {}),
    ("DELETE", r"/files/(?P<file>[^/]+)", "bedrock-mantle:DeleteFile",
     lambda call, m: {"bedrock-mantle:Files": [m["file"]]}),
    ("GET", r"/fine_tuning/jobs", "bedrock-mantle:ListFineTuningJobs", lambda call, m: {}),
    ("POST", r"/fine_tuning/jobs", "bedrock-mantle:CreateFineTuningJob", _create_fine_tuning_job),
    ("GET", r"/fine_tuning/jobs/(?P<job>[^/]+)", "bedrock-mantle:GetFineTuningJob",
     lambda call, m: {"bedrock-mantle:FineTuningJob": m["job"]}),
    ("POST", r"/fine_tuning/jobs/(?P<job>[^/]+)/cancel", "bedrock-mantle:CancelFineTuningJob",
     lambda call, m: {"bedrock-mantle:FineTuningJob": m["job"]}),
)


def accesses_of(call: AwsCall | HttpCall, account: str, known: Knowledge | None = None) -> list[Access]:
    """The IAM authorisations `call` needs. UnmappedCall for a call the table does not know."""
    if isinstance(call, HttpCall):
        for method, route, action, context in MANTLE_ROUTES:
            match = re.fullmatch(route, call.route)
            if method == call.method and match:
                return [Access(str(call), action, _mantle_project(call, account), dict(context(call, match)))]
        raise UnmappedCall(f"{call}: not in MANTLE_ROUTES (tests/stacks/iam_recorder.py): map the route to its "
                           "bedrock-mantle action")
    rule = AWS_ACTIONS.get((call.service, call.operation))
    if rule is None:
        raise UnmappedCall(f"{call}: not in AWS_ACTIONS (tests/stacks/iam_recorder.py): add what IAM authorises "
                           "for it (Service Authorization Reference)")
    return rule(call, account, known or Knowledge())


def log_writes(log_group: str, region: str, account: str, stream: str = "2026/01/15/[$LATEST]0123456789abcdef") \
        -> list[Access]:
    """What Lambda itself does with a function's role: write the invocation's logs to its log group."""
    arn = f"arn:{PARTITION}:logs:{region}:{account}:log-group:{log_group}:log-stream:{stream}"
    return [Access("Lambda writes the function's logs", action, arn)
            for action in ("logs:CreateLogStream", "logs:PutLogEvents")]
