"""The dashboard, the alarms, the topic key CloudWatch needs and the grader's concurrency, per stack."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from typing import Any

import pytest
from aws_cdk.assertions import Template

from lambda_reward.infrastructure import HANDLER as GRADER_HANDLER
from stacks.monitoring import JOB_POLLED_MESSAGE, JOB_STATUS_FIELDS, MIN_SAMPLES_FOR_SHARE, dashboard_name
from stacks.rft_job.infrastructure import TRACKER_HANDLER
from tests.conftest import PROJECT_ROOT, role_statements, synth

NOVA, MANTLE = "BedrockRft-Nova2Lite", "BedrockRft-GptOss20b"
STACKS = (NOVA, MANTLE)
ALARMS = ("grader-errors", "grader-throttles", "grader-duration", "malformed-samples", "tracker-stopped")
# One synth with every monitoring setting moved off its default: Nova's alarms from rft:alarms, the
# mantle stack's switched off by its own override, and the grader's concurrency set.
TUNED = {
    "rft:alarms": {"periodMinutes": 10, "evaluationPeriods": 3, "graderErrors": 5, "graderThrottles": 7,
                   "graderDurationShare": 0.5, "malformedShare": 0.25},
    "rft:grader": {"logRetentionDays": 30, "reservedConcurrency": 50},
    "rft:mantle": {"models": ["openai.gpt-oss-20b"], "hyperParameters": {"n_epochs": 1}, "alarms": {"enabled": False}},
}


@pytest.fixture(scope="module")
def tuned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Template]:
    return synth(tmp_path_factory.mktemp("tuned"), TUNED)


def the_one(template: Template, type_name: str, props: dict | None = None) -> tuple[str, dict[str, Any]]:
    found = template.find_resources(type_name, {"Properties": props} if props else None)
    assert len(found) == 1, f"expected one {type_name}, found {sorted(found)}"
    return next(iter(found.items()))


def logical_id(template: Template, type_name: str, props: dict | None = None) -> str:
    return the_one(template, type_name, props)[0]


def dashboard(template: Template) -> tuple[str, dict[str, Any]]:
    """The dashboard's name and its body, each deploy-time value (Ref, GetAtt) as its JSON text."""
    _, resource = the_one(template, "AWS::CloudWatch::Dashboard")
    parts = resource["Properties"]["DashboardBody"]["Fn::Join"][1]
    # A token sits inside a JSON string of the body: its JSON, escaped, keeps the body valid JSON.
    text = "".join(part if isinstance(part, str) else json.dumps(json.dumps(part))[1:-1] for part in parts)
    return resource["Properties"]["DashboardName"], json.loads(text)


def ref(logical: str) -> str:
    return json.dumps({"Ref": logical})


def widgets_by_title(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {w["properties"].get("title", w["type"]): w for w in body["widgets"]}


def alarms(template: Template, stack: str) -> dict[str, dict[str, Any]]:
    """The stack's alarms by name, without the stack name's prefix."""
    found = template.find_resources("AWS::CloudWatch::Alarm")
    return {a["Properties"]["AlarmName"].removeprefix(f"{stack}-"): a["Properties"] for a in found.values()}


def grader_service(template: Template) -> str:
    _, function = the_one(template, "AWS::Lambda::Function", {"Handler": GRADER_HANDLER})
    return function["Properties"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]


def reward_metrics(metrics: list[list[Any]]) -> set[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """(namespace, name, dimensions) of a widget's metric rows in the BedrockRft namespace."""
    found = set()
    for row in metrics:
        if isinstance(row[0], str) and row[0] == "BedrockRft":
            fields = row[:-1] if isinstance(row[-1], dict) else row
            found.add((fields[0], fields[1], tuple(zip(fields[2::2], fields[3::2], strict=True))))
    return found


# ---- the dashboard -----------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_the_dashboard_is_named_after_the_stack_and_linked_from_the_outputs(templates, stack) -> None:
    template = templates[stack]
    name, _ = dashboard(template)
    assert name == stack == dashboard_name(stack)
    outputs = template.to_json()["Outputs"]
    region = "us-east-1" if stack == NOVA else "us-west-2"
    assert outputs["DashboardName"]["Value"] == stack
    assert outputs["DashboardUrl"]["Value"] == (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards/dashboard/{stack}"
    )


def test_a_dashboard_name_keeps_only_the_characters_cloudwatch_allows() -> None:
    assert dashboard_name("BedrockRft-Qwen3-32b") == "BedrockRft-Qwen3-32b"
    assert dashboard_name("a.b c/d") == "a-b-c-d"
    assert len(dashboard_name("x" * 300)) == 255


@pytest.mark.parametrize("stack", STACKS)
def test_the_dashboard_shows_the_grader_the_reward_the_tracker_and_the_job_status(templates, stack) -> None:
    template = templates[stack]
    _, body = dashboard(template)
    widgets = widgets_by_title(body)
    header = next(w for w in body["widgets"] if w["type"] == "text")["properties"]["markdown"]
    assert header.startswith(f"# Bedrock RFT run: {stack}\n") and f"rftctl status --stack {stack}" in header
    grader = ref(logical_id(template, "AWS::Lambda::Function", {"Handler": GRADER_HANDLER}))

    def lambda_rows(title: str) -> list[tuple[str, str]]:
        rows = widgets[title]["properties"]["metrics"]
        assert all(row[2:4] == ["FunctionName", grader] for row in rows if row[0] == "AWS/Lambda"), rows
        return [(row[1], row[4].get("stat")) for row in rows]

    assert lambda_rows("Grader calls per 5 min: invocations, errors, throttles") == [
        ("Invocations", "Sum"), ("Errors", "Sum"), ("Throttles", "Sum")]
    assert lambda_rows("Grader duration (ms): p50, p99") == [("Duration", "p50"), ("Duration", "p99")]
    annotations = widgets["Grader duration (ms): p50, p99"]["properties"]["annotations"]["horizontal"]
    assert [(a["label"], a["value"]) for a in annotations] == [("Timeout", 60_000), ("Alarm", 48_000)]
    assert lambda_rows("Grader concurrency: environments busy at once (max)") == [("ConcurrentExecutions", "Maximum")]

    # The reward it hands out, from its own metrics, under the dimension its handler emits.
    service = (("service", grader_service(template)),)
    reward = widgets["Reward handed out: mean reward per batch, pass rate"]["properties"]
    assert ("BedrockRft", "MeanReward", service) in reward_metrics(reward["metrics"])
    assert reward["yAxis"]["left"] == {"label": "reward", "min": 0, "max": 1, "showUnits": False}
    samples = widgets["Samples per 5 min: scored, passed, malformed, flagged"]["properties"]
    counts = ("SamplesScored", "PassedSamples", "MalformedSamples", "FlaggedSamples")
    assert reward_metrics(samples["metrics"]) == {("BedrockRft", name, service) for name in counts}
    share = next(row[0] for row in samples["metrics"] if "expression" in row[0])
    # The share as it is: a 0 for a period under the alarm's minimum would read as a collapse.
    assert share["expression"] == "100 * part / scored"
    ids = {row[-1].get("id"): row[1] for row in samples["metrics"] if isinstance(row[0], str)}
    assert (ids["scored"], ids["part"]) == ("SamplesScored", "MalformedSamples")

    machine = ref(logical_id(template, "AWS::StepFunctions::StateMachine"))
    tracker_rows = widgets["Job tracker: executions and failed polls"]["properties"]["metrics"]
    assert [row[1] for row in tracker_rows if row[0] == "AWS/States" and row[3] == machine] == [
        "ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"]
    tracker_function = ref(logical_id(template, "AWS::Lambda::Function", {"Handler": TRACKER_HANDLER}))
    assert ["AWS/Lambda", "Errors", "FunctionName", tracker_function] in [row[:4] for row in tracker_rows]

    # The job's status: the tracker's own log group, its latest polls first.
    _, tracker_fn = the_one(template, "AWS::Lambda::Function", {"Handler": TRACKER_HANDLER})
    query = widgets["Job status: the tracker's latest polls"]["properties"]["query"]
    assert query.startswith(f"SOURCE '{ref(tracker_fn['Properties']['LoggingConfig']['LogGroup']['Ref'])}' | ")
    assert f'filter message in ["{JOB_POLLED_MESSAGE}", "tracking gave up"]' in query
    assert "sort @timestamp desc" in query and "status" in query and "polls" in query

    status = widgets["Alarms (they notify the stack's topic)"]["properties"]["alarms"]
    assert len(status) == len(ALARMS)


def test_the_grader_emits_the_metrics_the_dashboard_and_alarms_read(templates) -> None:
    """The handler as the template configures it, run once: its EMF names, namespace and dimensions."""
    template = templates[NOVA]
    _, function = the_one(template, "AWS::Lambda::Function", {"Handler": GRADER_HANDLER})
    code = (
        "import json\n"
        "from lambda_reward.runtime.handler import handler\n"
        "class Context:\n"
        "    function_name = 'grader'; memory_limit_in_mb = 512; aws_request_id = 'r'\n"
        "    invoked_function_arn = 'arn:aws:lambda:us-east-1:123456789012:function:grader'\n"
        "    def get_remaining_time_in_millis(self): return 60000\n"
        "sample = {'id': 1, 'messages': [{'role': 'user', 'content': 'AIとは何か30文字以内で説明して'},"
        " {'role': 'assistant', 'content': '人工知能の略'}]}\n"
        "handler([sample, {'id': 2}], Context())\n"
    )
    environment = {**os.environ, **function["Properties"]["Environment"]["Variables"]}
    printed = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=environment, capture_output=True,
                             text=True, check=True, timeout=60).stdout
    emitted = set()
    for line in printed.splitlines():
        record = json.loads(line) if line.startswith("{") else {}
        for directive in record.get("_aws", {}).get("CloudWatchMetrics", []):
            for dimensions in directive["Dimensions"]:
                for metric in directive["Metrics"]:
                    emitted.add((directive["Namespace"], metric["Name"],
                                 tuple((name, record[name]) for name in dimensions)))
    _, body = dashboard(template)
    read = set()
    for widget in body["widgets"]:
        read |= reward_metrics(widget["properties"].get("metrics", []))
    for alarm in template.find_resources("AWS::CloudWatch::Alarm").values():
        for query in alarm["Properties"].get("Metrics", []):
            metric = query.get("MetricStat", {}).get("Metric", {})
            if metric.get("Namespace") == "BedrockRft":
                read.add(("BedrockRft", metric["MetricName"],
                          tuple((d["Name"], d["Value"]) for d in metric["Dimensions"])))
    assert len(read) == 5 and read <= emitted, (read, emitted)


def test_the_tracker_logs_each_poll_with_the_fields_the_status_widget_shows() -> None:
    """The status widget reads the tracker's "job polled" line (and its appended job keys)."""
    source = (PROJECT_ROOT / "stacks" / "rft_job" / "runtime" / "tracker.py").read_text(encoding="utf-8")
    logged: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            first = node.args[0] if node.args else None
            keywords = {k.arg: k.value for k in node.keywords}
            if node.func.attr == "append_keys":
                logged |= {name for name in keywords if name}
            elif isinstance(first, ast.Constant) and first.value == JOB_POLLED_MESSAGE and "extra" in keywords:
                extra = keywords["extra"]
                assert isinstance(extra, ast.Dict)
                logged |= {key.value for key in extra.keys if isinstance(key, ast.Constant)}
    assert {"job_name", "status", "polls", "terminal"} <= logged
    assert set(JOB_STATUS_FIELDS) - logged == {"reason"}  # on the "tracking gave up" line


# ---- the alarms --------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_each_alarm_watches_its_metric_and_notifies_the_stacks_topic(templates, stack) -> None:
    template = templates[stack]
    found = alarms(template, stack)
    assert sorted(found) == sorted(ALARMS)
    topic = {"Ref": logical_id(template, "AWS::SNS::Topic")}
    grader = {"Ref": logical_id(template, "AWS::Lambda::Function", {"Handler": GRADER_HANDLER})}
    for name, alarm in found.items():
        assert alarm["AlarmName"] == f"{stack}-{name}"
        assert alarm["AlarmActions"] == [topic], name
        assert "OKActions" not in alarm and "InsufficientDataActions" not in alarm
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (1, 1)
        # No data is no calls: an idle grader or tracker is fine.
        assert alarm["TreatMissingData"] == "notBreaching"
        description = alarm["AlarmDescription"]
        assert description.startswith(f"{stack}: ") and "What to do:" in description and "rftctl" in description
        assert f"--stack {stack}" in description and len(description) <= 1024
    for name, metric, statistic, threshold in (("grader-errors", "Errors", "Sum", 1),
                                               ("grader-throttles", "Throttles", "Sum", 1)):
        assert (found[name]["MetricName"], found[name]["Statistic"], found[name]["Threshold"]) == (
            metric, statistic, threshold)
        assert found[name]["Dimensions"] == [{"Name": "FunctionName", "Value": grader}]
        assert found[name]["Namespace"] == "AWS/Lambda" and found[name]["Period"] == 300
    duration = found["grader-duration"]
    assert (duration["MetricName"], duration["ExtendedStatistic"], duration["Threshold"]) == ("Duration", "p99", 48_000)
    assert "80% of its 60 s timeout" in duration["AlarmDescription"]
    assert "rft:alarms.graderDurationShare" in duration["AlarmDescription"]

    malformed = {query["Id"]: query for query in found["malformed-samples"]["Metrics"]}
    assert malformed["expr_1"]["Expression"] == f"IF(scored >= {MIN_SAMPLES_FOR_SHARE}, 100 * part / scored, 0)"
    assert malformed["part"]["MetricStat"]["Metric"] == {
        "Namespace": "BedrockRft", "MetricName": "MalformedSamples",
        "Dimensions": [{"Name": "service", "Value": grader_service(template)}]}
    assert malformed["scored"]["MetricStat"]["Metric"]["MetricName"] == "SamplesScored"
    assert found["malformed-samples"]["Threshold"] == 50

    stopped = {query["Id"]: query for query in found["tracker-stopped"]["Metrics"]}
    machine = {"Ref": logical_id(template, "AWS::StepFunctions::StateMachine")}
    assert stopped["expr_1"]["Expression"] == "FILL(failed, 0) + FILL(timedOut, 0)"
    for query_id, metric in (("failed", "ExecutionsFailed"), ("timedOut", "ExecutionsTimedOut")):
        assert stopped[query_id]["MetricStat"] == {
            "Metric": {"Namespace": "AWS/States", "MetricName": metric,
                       "Dimensions": [{"Name": "StateMachineArn", "Value": machine}]},
            "Period": 300, "Stat": "Sum"}
    assert found["tracker-stopped"]["Threshold"] == 1
    assert "may still be running and billing" in found["tracker-stopped"]["AlarmDescription"]


def test_alarm_thresholds_and_periods_come_from_config(tuned) -> None:
    found = alarms(tuned[NOVA], NOVA)
    assert {name: alarm["Threshold"] for name, alarm in found.items()} == {
        "grader-errors": 5, "grader-throttles": 7, "grader-duration": 30_000, "malformed-samples": 25,
        "tracker-stopped": 1}
    for name, alarm in found.items():
        assert (alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (3, 3), name
        periods = [alarm.get("Period")] if "Period" in alarm else [
            q["MetricStat"]["Period"] for q in alarm["Metrics"] if "MetricStat" in q]
        assert set(periods) == {600}, name
    assert "each of 3 periods of 10 min in a row" in found["grader-errors"]["AlarmDescription"]
    # A reservation is named in the throttle alarm's advice, and drawn on the concurrency graph.
    assert "rft:grader.reservedConcurrency is 50" in found["grader-throttles"]["AlarmDescription"]
    _, body = dashboard(tuned[NOVA])
    concurrency = widgets_by_title(body)["Grader concurrency: environments busy at once (max)"]["properties"]
    assert concurrency["annotations"]["horizontal"] == [{"label": "Reserved concurrency", "value": 50,
                                                         "yAxis": "left"}]


def test_alarms_switched_off_leave_the_dashboard_and_no_cloudwatch_grants(tuned) -> None:
    mantle = tuned[MANTLE]
    assert not mantle.find_resources("AWS::CloudWatch::Alarm")
    _, body = dashboard(mantle)
    assert "Alarms (they notify the stack's topic)" not in widgets_by_title(body)
    assert "cloudwatch.amazonaws.com" not in json.dumps(mantle.find_resources("AWS::KMS::Key"))
    assert "cloudwatch.amazonaws.com" not in json.dumps(mantle.find_resources("AWS::SNS::TopicPolicy"))


# ---- the topic's key: CloudWatch may use it, and every publisher still can -----------------


@pytest.mark.parametrize("stack", STACKS)
def test_only_this_stacks_alarms_may_publish_to_the_topic_and_use_its_key(templates, stack) -> None:
    template = templates[stack]
    region = "us-east-1" if stack == NOVA else "us-west-2"
    key_id, key = the_one(template, "AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True
    topic_id, topic = the_one(template, "AWS::SNS::Topic")
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    arns = [{"Fn::Join": ["", [f"arn:aws:cloudwatch:{region}:", {"Ref": "AWS::AccountId"}, f":alarm:{stack}-{name}"]]}
            for name in ALARMS]
    conditions = {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
                  "ArnEquals": {"aws:SourceArn": arns}}
    cloudwatch = [s for s in key["Properties"]["KeyPolicy"]["Statement"]
                  if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch == [{"Sid": "CloudWatchAlarmsEncrypt", "Effect": "Allow",
                           "Principal": {"Service": "cloudwatch.amazonaws.com"},
                           "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": "*",
                           "Condition": conditions}]
    _, policy = the_one(template, "AWS::SNS::TopicPolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statements[0]["Effect"] == "Deny"  # SSL only, still first
    assert statements[1] == {"Sid": "CloudWatchAlarmsPublish", "Effect": "Allow",
                             "Principal": {"Service": "cloudwatch.amazonaws.com"}, "Action": "sns:Publish",
                             "Resource": {"Ref": topic_id}, "Condition": conditions}
    # The alarms' own names, as the grants spell them.
    assert sorted(a["AlarmName"] for a in alarms(template, stack).values()) == sorted(f"{stack}-{n}" for n in ALARMS)


@pytest.mark.parametrize("stack", STACKS)
def test_the_tracker_and_its_state_machine_may_still_publish_through_the_key(templates, stack) -> None:
    template = templates[stack]
    key = logical_id(template, "AWS::KMS::Key")
    encrypt = {"Sid": "EncryptNotifications", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
               "Resource": {"Fn::GetAtt": [key, "Arn"]},
               "Condition": {"StringEquals": {"kms:ViaService": {
                   "Fn::Join": ["", ["sns.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}}}}
    _, tracker = the_one(template, "AWS::Lambda::Function", {"Handler": TRACKER_HANDLER})
    assert role_statements(template, tracker["Properties"]["Role"]["Fn::GetAtt"][0])["EncryptNotifications"] == encrypt
    _, machine = the_one(template, "AWS::StepFunctions::StateMachine")
    assert role_statements(template, machine["Properties"]["RoleArn"]["Fn::GetAtt"][0])["EncryptNotifications"] == (
        encrypt)


# ---- the grader's concurrency --------------------------------------------------------------


def test_no_concurrency_is_reserved_by_default_and_none_is_ever_provisioned(templates, tuned) -> None:
    for template in templates.values():
        _, function = the_one(template, "AWS::Lambda::Function", {"Handler": GRADER_HANDLER})
        assert "ReservedConcurrentExecutions" not in function["Properties"]
    # Retained versions would keep it, billed after their job: never on a version, whatever the config.
    for template in (*templates.values(), *tuned.values()):
        _, version = the_one(template, "AWS::Lambda::Version")
        assert "ProvisionedConcurrencyConfig" not in version["Properties"]


def test_concurrency_comes_from_config(tuned) -> None:
    for template in tuned.values():
        _, function = the_one(template, "AWS::Lambda::Function", {"Handler": GRADER_HANDLER})
        assert function["Properties"]["ReservedConcurrentExecutions"] == 50


def test_concurrency_and_alarm_settings_never_change_the_job(templates, tuned) -> None:
    """A deploy that only tunes monitoring or concurrency must never replace a paid job."""
    for stack in STACKS:
        _, default_job = the_one(templates[stack], "Custom::BedrockRftJob")
        _, tuned_job = the_one(tuned[stack], "Custom::BedrockRftJob")
        assert tuned_job["Properties"]["JobFingerprint"] == default_job["Properties"]["JobFingerprint"]
        # The same grader version (its logical id is in the spec): the job is not even updated.
        assert tuned_job["Properties"]["JobSpec"] == default_job["Properties"]["JobSpec"]
        assert list(tuned[stack].find_resources("AWS::Lambda::Version")) == list(
            templates[stack].find_resources("AWS::Lambda::Version"))
