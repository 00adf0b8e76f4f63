"""rftctl report: the run report online (stubbed AWS), offline (no AWS at all), escaped, and rendered by Chromium."""

from __future__ import annotations

import ast
import copy
import json
import os
import shlex
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.image import imread

from rftctl.cli import main
from rftctl.documents import DocumentError
from rftctl.grader_metrics import (
    QUERIES,
    GraderMetrics,
    GraderSeries,
    binned,
    fetch_grader_metrics,
    grader_metrics_document,
    load_grader_metrics,
    period_for,
    summarize,
)
from rftctl.run_report import RunInfo, RunReport, TunedModel, load_compare, load_run, render_html, usage_snippets
from stacks.rft_job.runtime.job_spec import fingerprint_of_document
from stacks.rft_job.runtime.ledger import LedgerEntry, id_key
from tests.conftest import PROJECT_ROOT, load_script
from tests.scripts.fakes import (
    BUCKET,
    DEPLOYMENT_ARN,
    MANTLE_JOB_ID,
    MANTLE_REGION,
    MANTLE_STACK,
    MANTLE_TUNED_MODEL,
    NOVA_BASE_MODEL,
    NOVA_GRADER_VERSION,
    NOVA_JOB_ARN,
    NOVA_JOB_NAME,
    NOVA_MODEL_ARN,
    NOVA_REGION,
    NOVA_STACK,
    STARTED,
    expect_mantle_stack,
    expect_nova_stack,
    expect_parameter,
    nova_job,
    streaming,
)

EXAMPLE = PROJECT_ROOT / "docs" / "examples" / "run"
EXAMPLE_COMPARE = json.loads((EXAMPLE / "compare.json").read_text(encoding="utf-8"))
EXAMPLE_RUN = json.loads((EXAMPLE / "run.json").read_text(encoding="utf-8"))
NOW = datetime(2025, 12, 1, 15, 0, tzinfo=UTC)
ENDED = STARTED + timedelta(hours=3)
GRADER_SERVICE = "bedrockrft-nova2lite-reward"
GRADER_FUNCTION = "BedrockRft-Nova2Lite-Grader"


class NoAws:
    """A client factory that fails the test on any use: an offline report must not call AWS."""

    def client(self, service: str, region: str) -> Any:
        raise AssertionError(f"the offline report asked for a {service} client in {region}")

    def mantle(self, region: str, base_url: str | None = None) -> Any:
        raise AssertionError("the offline report asked for a mantle client")


def run_offline(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv), clients=NoAws(), context_options={"utc_now": lambda: NOW})
    captured = capsys.readouterr()
    return code, captured.out, captured.err


class PageParser(HTMLParser):
    """Every tag and attribute of a page, and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(page: str) -> PageParser:
    parser = PageParser()
    parser.feed(page)
    return parser


def assert_self_contained(page: str) -> None:
    """No script, no handler attribute, nothing loaded from anywhere: images are data: URIs."""
    parser = parsed(page)
    tags = {tag for tag, _ in parser.tags}
    assert not tags & {"script", "iframe", "object", "embed", "link", "base", "form", "svg"}, tags
    for tag, attrs in parser.tags:
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        assert "href" not in attrs, (tag, attrs)
        if tag == "img":
            assert (attrs.get("src") or "").startswith("data:image/png;base64,"), attrs
        else:
            assert "src" not in attrs, (tag, attrs)
    assert "url(" not in page and "@import" not in page


def example_numbers() -> list[str]:
    """What the example report must show: the fingerprint, the compare figures, the tuned model."""
    summary = EXAMPLE_COMPARE["summary"]
    return [
        EXAMPLE_RUN["fingerprint"],
        f"{summary['base']['meanReward']:.3f}", f"{summary['tuned']['meanReward']:.3f}",
        f"{summary['base']['passRate'] * 100:.0f}%", f"{summary['tuned']['passRate'] * 100:.0f}%",
        EXAMPLE_RUN["tunedModel"]["id"],
    ]


# --- offline -------------------------------------------------------------------------------------


def test_the_example_run_is_what_its_generator_writes() -> None:
    generator = load_script(PROJECT_ROOT / "scripts" / "examples" / "make_example_run.py", "rft_make_example_run")
    from rftctl.console import json_text

    for name, document in generator.documents().items():
        assert (EXAMPLE / name).read_text(encoding="utf-8") == json_text(document) + "\n", (
            f"docs/examples/run/{name} is stale: run .venv/bin/python scripts/examples/make_example_run.py")
    assert sorted(p.name for p in EXAMPLE.iterdir()) == sorted(generator.documents())


def test_an_offline_report_from_saved_files_makes_no_aws_call(capsys, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    code, stdout, stderr = run_offline(capsys, "report", "--from", str(EXAMPLE), "--out", str(out))
    assert code == 0, stderr
    assert stdout.startswith(f"report: {out} (")
    page = out.read_text(encoding="utf-8")
    assert_self_contained(page)
    text = "".join(parsed(page).text)
    for number in example_numbers():
        assert number in text, number
    # The run's settings, the example's own warning, Japanese prompts and answers as they are.
    for expected in ("epochCount=10", "trainingSamplePerPrompt=8", "Illustrative example data",
                     "ナポレオンはどんな人物か、50文字以内で説明して", "centred moving averages over 9 points",
                     "train_reward_std, train_reward_max in the table only", "p50 42 ms"):
        assert expected in text, expected
    assert page.count("data:image/png;base64,") == 2  # the reward curves and the grader charts
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # written in one piece, no temporary left


def test_an_offline_report_from_a_metrics_csv_alone(capsys, tmp_path: Path) -> None:
    csv = tmp_path / "step_wise_training_metrics.csv"
    csv.write_text("step,train_reward_mean,train_reward_std\r\n" + "".join(
        f"{step},{0.3 + step / 40:.3f},0.2\r\n" for step in range(1, 21)), encoding="utf-8-sig")
    out = tmp_path / "r.html"
    code, _, stderr = run_offline(capsys, "report", "--offline", "--metrics", str(csv), "--out", str(out))
    assert code == 0, stderr
    text = "".join(parsed(out.read_text(encoding="utf-8")).text)
    assert "train_reward_mean" in text and "0.800" in text  # the last point: 0.3 + 20/40
    assert "no tuned model is recorded for this run" in text


def test_a_report_of_a_run_with_no_data_yet(capsys, tmp_path: Path) -> None:
    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "run.json").write_text(json.dumps({"kind": "rftctl.run", "version": 1, "stack": NOVA_STACK,
                                                "job": {"id": NOVA_JOB_ARN, "status": "InProgress"},
                                                "tunedModel": {"note": "the job is InProgress"}}))
    code, _, stderr = run_offline(capsys, "report", "--from", str(saved), "--out", str(tmp_path / "r.html"))
    assert code == 0, stderr
    text = "".join(parsed((tmp_path / "r.html").read_text(encoding="utf-8")).text)
    assert "No reward metrics for this run." in text and "the job is InProgress" in text


def xss_compare() -> dict[str, Any]:
    document = copy.deepcopy(EXAMPLE_COMPARE)
    prompt = document["prompts"][0]
    prompt["prompt"] = '<img src=x onerror="alert(1)">30文字で'
    prompt["tuned"]["answers"][0]["answer"] = "</div><script>alert('answer')</script>"
    document["models"]["tuned"]["id"] = '"><script>alert(2)</script>'
    document["confidence"]["method"] = "<b onmouseover=alert(3)>bold</b>"
    return document


def test_model_output_and_file_contents_render_as_text(tmp_path: Path) -> None:
    run = load_run(EXAMPLE / "run.json")
    run.note = "<script>alert('note')</script>"
    run.stack = "<i>stack</i>"
    run.tuned_model = TunedModel(id="x'); alert(4); ('", model=None)
    page = render_html(RunReport(run, compare=xss_compare()))
    assert_self_contained(page)
    assert "<script" not in page.lower() and "<img src=x" not in page and "<b onmouseover" not in page
    assert "&lt;/div&gt;&lt;script&gt;alert(&#x27;answer&#x27;)&lt;/script&gt;" in page
    text = "".join(parsed(page).text)
    for shown in ("</div><script>alert('answer')</script>", '<img src=x onerror="alert(1)">30文字で',
                  "<script>alert('note')</script>", "<i>stack</i>", '"><script>alert(2)</script>'):
        assert shown in text, shown


def test_the_usage_snippets_are_valid_python_and_shell() -> None:
    prompt = "What's a sonnet? Answer in 60 characters."
    nova = RunInfo(region=NOVA_REGION, variant="nova", tuned_model=TunedModel(DEPLOYMENT_ARN, NOVA_MODEL_ARN))
    (python_title, python_code), (cli_title, cli_code) = usage_snippets(nova, prompt)
    tree = ast.parse(python_code)
    assert DEPLOYMENT_ARN in [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant)]
    words = shlex.split(cli_code.replace("\\\n", " "))
    assert words[words.index("--model-id") + 1] == DEPLOYMENT_ARN
    assert json.loads(words[words.index("--messages") + 1]) == [{"role": "user", "content": [{"text": prompt}]}]

    mantle = RunInfo(region="us-west-2", variant="mantle", tuned_model=TunedModel(MANTLE_TUNED_MODEL),
                     mantle_base_url="https://vpce.example/v1")
    ((title, code),) = usage_snippets(mantle, prompt)
    constants = [node.value for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Constant)]
    assert {MANTLE_TUNED_MODEL, "https://vpce.example/v1", "mantle", prompt} <= set(constants)
    assert "chat.completions.create" in code and "OpenAI SDK" in title
    assert usage_snippets(RunInfo(variant="nova"), prompt) == []


@pytest.mark.parametrize(("argv", "message"), [
    (["--from", "{tmp}/missing"], "--from {tmp}/missing: no such directory"),
    (["--from", "{tmp}"], "{tmp}/run.json: no such file (an rftctl.run JSON document)"),
    (["--offline", "--compare", "{tmp}/metrics.json"], "{tmp}/metrics.json: is an rftctl.metrics document, "
                                                       "expected rftctl.compare"),
    (["--offline", "--metrics", "{tmp}/compare.json"], "{tmp}/compare.json: is an rftctl.compare document, "
                                                       "expected rftctl.metrics"),
    (["--offline", "--grader-metrics", "{tmp}/compare.json"], "{tmp}/compare.json: is an rftctl.compare document, "
                                                              "expected rftctl.grader-metrics"),
    (["--from", str(EXAMPLE), "--job", "x"], "--job is for a report read from the stack"),
    (["--from", str(EXAMPLE), "--save-data", "{tmp}/d"], "--save-data keeps what an online report read"),
    (["--metrics", "{tmp}/m.csv"], "--metrics is read offline: add --from DIR or --offline"),
    (["--from", str(EXAMPLE), "--out", "{tmp}/no/report.html"], "--out {tmp}/no/report.html: directory {tmp}/no "
                                                                "does not exist"),
])
def test_bad_arguments_and_files_are_named(capsys, tmp_path: Path, argv: list[str], message: str) -> None:
    (tmp_path / "metrics.json").write_text((EXAMPLE / "metrics.json").read_text(encoding="utf-8"))
    (tmp_path / "compare.json").write_text((EXAMPLE / "compare.json").read_text(encoding="utf-8"))
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in argv]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "report.html")]
    code, _, stderr = run_offline(capsys, "report", *args)
    assert code == 2
    assert stderr.startswith(f"rftctl: error: {message.replace('{tmp}', str(tmp_path))}"), stderr
    assert not (tmp_path / "report.html").exists()


def test_a_compare_file_of_another_shape_is_refused_by_name(tmp_path: Path) -> None:
    damaged = copy.deepcopy(EXAMPLE_COMPARE)
    damaged["summary"]["tuned"] = [0.5]
    path = tmp_path / "compare.json"
    path.write_text(json.dumps(damaged))
    with pytest.raises(DocumentError, match=r"compare\.json: summary\.tuned is list \[0\.5\], expected dict"):
        load_compare(path)


# --- grader metrics --------------------------------------------------------------------------------


def test_the_period_keeps_charts_under_500_points_and_asks_for_what_cloudwatch_keeps() -> None:
    start = datetime(2025, 12, 1, tzinfo=UTC)
    assert period_for(start, start + timedelta(hours=4), start + timedelta(hours=4)) == 60
    assert period_for(start, start + timedelta(hours=24), start + timedelta(hours=24)) == 180
    assert period_for(start, start + timedelta(days=10), start + timedelta(days=10)) == 1800
    # 1-minute points are gone after 15 days, 5-minute points after 63.
    assert period_for(start, start + timedelta(hours=4), start + timedelta(days=20)) == 300
    assert period_for(start, start + timedelta(hours=4), start + timedelta(days=70)) == 3600
    assert period_for(start, start + timedelta(days=300), start + timedelta(days=300)) == 54000  # 15 hours


def metric_result(query_id: str, times: list[datetime], values: list[float]) -> dict[str, Any]:
    return {"Id": query_id, "Label": query_id, "Timestamps": times, "Values": values, "StatusCode": "Complete"}


def expected_queries(period: int, service: str = GRADER_SERVICE,
                     function: str = GRADER_FUNCTION) -> list[dict[str, Any]]:
    queries = []
    for query in QUERIES:
        name, value = ("service", service) if query.grader_own else ("FunctionName", function)
        queries.append({"Id": query.id, "Label": query.label, "ReturnData": True, "MetricStat": {
            "Metric": {"Namespace": query.namespace, "MetricName": query.metric,
                       "Dimensions": [{"Name": name, "Value": value}]},
            "Period": period, "Stat": query.stat}})
    return queries


def expect_grader_metrics(aws, start: datetime, end: datetime) -> None:
    """Two pages: the second repeats the boundary point of samples_scored (CloudWatch may)."""
    minute = [start + timedelta(minutes=m) for m in range(3)]
    request = {"MetricDataQueries": expected_queries(60), "StartTime": start, "EndTime": end,
               "ScanBy": "TimestampAscending"}
    cloudwatch = aws.stub("cloudwatch", NOVA_REGION)
    cloudwatch.add_response("get_metric_data", {"MetricDataResults": [
        metric_result("invocations", minute, [2, 3, 1]),
        metric_result("samples_scored", minute[:2], [32, 48]),
        metric_result("passed_samples", minute[:2], [8, 24]),
        metric_result("mean_reward", minute[:2], [0.4, 0.6]),
    ], "NextToken": "page-2"}, request)
    cloudwatch.add_response("get_metric_data", {"MetricDataResults": [
        metric_result("samples_scored", minute[1:], [48, 16]),
        metric_result("passed_samples", minute[2:], [16]),
        metric_result("mean_reward", minute[2:], [0.9]),
        metric_result("duration_p99", minute, [900, 80, 70]),
        metric_result("errors", [], []),
    ]}, {**request, "NextToken": "page-2"})


def test_grader_metrics_are_paged_merged_and_summed(aws) -> None:
    start = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
    expect_grader_metrics(aws, start, start + timedelta(minutes=3))
    metrics = fetch_grader_metrics(aws.client("cloudwatch", NOVA_REGION), service=GRADER_SERVICE,
                                   function_name=GRADER_FUNCTION, start=start + timedelta(seconds=20),
                                   end=start + timedelta(minutes=2, seconds=30), now=start + timedelta(hours=1))
    assert metrics.period_seconds == 60
    assert metrics.get("samples_scored").values == [32, 48, 16]  # the repeated point counted once
    summary = summarize(metrics)
    assert (summary.invocations, summary.samples, summary.passed, summary.errors) == (6, 96, 48, 0)
    assert summary.pass_rate == 0.5
    # Batch means weighted by the samples they scored: (0.4*32 + 0.6*48 + 0.9*16) / 96.
    assert summary.mean_reward == pytest.approx((0.4 * 32 + 0.6 * 48 + 0.9 * 16) / 96)
    assert summary.duration_p99_max_ms == 900
    assert metrics.notes == []


def test_a_job_that_never_called_the_grader(aws) -> None:
    start = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
    aws.stub("cloudwatch", NOVA_REGION).add_response("get_metric_data", {"MetricDataResults": [
        metric_result(query.id, [], []) for query in QUERIES]})
    metrics = fetch_grader_metrics(aws.client("cloudwatch", NOVA_REGION), service=GRADER_SERVICE,
                                   function_name=GRADER_FUNCTION, start=start, end=start + timedelta(minutes=30),
                                   now=start + timedelta(minutes=30))
    assert not metrics.has_data
    assert metrics.notes == ["the grader published no metrics between 2025-12-01T10:00+00:00 and "
                             "2025-12-01T10:30+00:00: the job has not called it (yet), or CloudWatch no longer keeps "
                             "them"]
    assert summarize(metrics).mean_reward is None
    page = render_html(RunReport(RunInfo(stack=NOVA_STACK), grader=metrics))
    assert "No grader metrics from 2025-12-01 10:00 UTC to 2025-12-01 10:30 UTC" in page


def test_grader_metrics_round_trip_and_bin_for_the_charts(tmp_path: Path) -> None:
    start = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
    times = [start + timedelta(minutes=m) for m in range(240)]
    series = [GraderSeries("samples_scored", "samples scored", "Sum", "count", times, [10.0] * 240),
              GraderSeries("mean_reward", "mean reward", "Average", "reward", times, [0.5] * 240),
              GraderSeries("duration_p99", "duration p99", "p99", "ms", times, [float(m) for m in range(240)])]
    metrics = GraderMetrics(GRADER_SERVICE, GRADER_FUNCTION, start, start + timedelta(hours=4), 60, series)
    path = tmp_path / "grader-metrics.json"
    from rftctl.console import json_text

    path.write_text(json_text(grader_metrics_document(metrics, stack=NOVA_STACK, region=NOVA_REGION, variant="nova",
                                                      job_id=NOVA_JOB_ARN, created_at=NOW.isoformat())))
    loaded = load_grader_metrics(path)
    assert (loaded.start, loaded.end, loaded.period_seconds) == (metrics.start, metrics.end, 60)
    assert [(s.id, s.timestamps, s.values) for s in loaded.series] == [(s.id, s.timestamps, s.values) for s in series]
    per_bin, points = binned(loaded)
    assert per_bin == 300  # 240 minutes in at most 48 bins
    assert points["samples_scored"][1] == [50.0] * 48  # sums add up
    assert points["duration_p99"][1][:2] == [4.0, 9.0]  # the bin's worst
    assert points["mean_reward"][1] == [0.5] * 48

    document = json.loads(path.read_text())
    document["series"][0]["timestamps"][3] = "yesterday"
    path.write_text(json.dumps(document))
    with pytest.raises(DocumentError, match=r"grader-metrics\.json: series\[0\]\.timestamps\[3\] is 'yesterday', "
                                            "expected an ISO 8601 time"):
        load_grader_metrics(path)


# --- online --------------------------------------------------------------------------------------


JOB_SPEC = {
    "variant": "nova", "namePrefix": "bedrockrft-nova2lite", "baseModel": NOVA_BASE_MODEL,
    "datasetSha256": {"training": "a" * 64, "validation": "b" * 64}, "graderCodeSha256": "c" * 64,
    "hyperParameters": {"epochCount": 2, "learningRate": 0.0001}, "graderPinned": True,
    "graderTask": {"name": "char-limit", "minShare": 0.5},
}
FINGERPRINT = fingerprint_of_document(JOB_SPEC)
TEMPLATE = {"Resources": {
    "Job": {"Type": "Custom::BedrockRftJob", "Properties": {
        "JobFingerprint": FINGERPRINT,
        "JobSpec": {"Fn::Join": ["", [json.dumps(JOB_SPEC)[:-1] + ', "graderArn": "', {"Ref": "GraderVersion"},
                                      '"}']]}}},
    "Grader": {"Type": "AWS::Lambda::Function", "Properties": {"Environment": {"Variables": {
        "POWERTOOLS_SERVICE_NAME": GRADER_SERVICE, "POWERTOOLS_METRICS_NAMESPACE": "BedrockRft"}}}},
    "Tracker": {"Type": "AWS::Lambda::Function", "Properties": {"Environment": {"Variables": {
        "POWERTOOLS_SERVICE_NAME": "tracker"}}}},
}}
TRAINING_CSV = "step,train_reward_mean,train_reward_std\n" + "".join(
    f"{step},{0.3 + step * 0.04:.2f},0.25\n" for step in range(1, 13))


def expect_online_nova_report(aws) -> None:
    expect_nova_stack(aws)
    expect_parameter(aws, NOVA_REGION, f"/bedrock-rft/{NOVA_STACK}/job/id", NOVA_JOB_ARN)
    aws.stub("bedrock", NOVA_REGION).add_response(
        "get_model_customization_job", nova_job("Completed", outputModelArn=NOVA_MODEL_ARN, endTime=ENDED),
        {"jobIdentifier": NOVA_JOB_ARN})
    aws.stub("cloudformation", NOVA_REGION).add_response(
        "get_template", {"TemplateBody": json.dumps(TEMPLATE)}, {"StackName": NOVA_STACK, "TemplateStage": "Original"})
    entry = LedgerEntry(job_name=NOVA_JOB_NAME, variant="nova", base_model=NOVA_BASE_MODEL, fingerprint=FINGERPRINT,
                        request_token="t" * 32, stack_id="stack", launched_at=STARTED.isoformat(), request="created",
                        job_id=NOVA_JOB_ARN)
    s3 = aws.stub("s3", NOVA_REGION)
    pointer = f"jobs/by-id/{id_key(NOVA_JOB_ARN)}.json"
    s3.add_response("get_object", {"Body": streaming(json.dumps({"jobName": NOVA_JOB_NAME}).encode())},
                    {"Bucket": BUCKET, "Key": pointer})
    s3.add_response("get_object", {"Body": streaming(entry.to_json().encode()), "ETag": '"e"'},
                    {"Bucket": BUCKET, "Key": f"jobs/{NOVA_JOB_NAME}.json"})
    expect_parameter(aws, NOVA_REGION, f"/bedrock-rft/{NOVA_STACK}/job/deployment-arn", DEPLOYMENT_ARN)
    aws.stub("bedrock", NOVA_REGION).add_response("get_custom_model_deployment", {
        "customModelDeploymentArn": DEPLOYMENT_ARN, "modelDeploymentName": "d", "modelArn": NOVA_MODEL_ARN,
        "createdAt": ENDED, "status": "Active"}, {"customModelDeploymentIdentifier": DEPLOYMENT_ARN})
    key = "output/model-customization-job-a1b2c3d4e5f6/training_artifacts/step_wise_training_metrics.csv"
    s3.add_response("list_objects_v2", {"Contents": [{"Key": key, "Size": 10}], "IsTruncated": False, "KeyCount": 1},
                    {"Bucket": BUCKET, "Prefix": "output/"})
    s3.add_response("get_object", {"Body": streaming(TRAINING_CSV.encode())}, {"Bucket": BUCKET, "Key": key})
    # The job ran 10:00 to 13:00: one-minute points, the window in whole periods.
    expect_grader_metrics(aws, STARTED, ENDED)


def test_an_online_report_reads_the_stack_and_saves_what_it_read(rftctl, aws, tmp_path: Path) -> None:
    expect_online_nova_report(aws)
    preflight = tmp_path / "pf.json"
    preflight.write_text((EXAMPLE / "preflight.json").read_text(encoding="utf-8"), encoding="utf-8")
    out, saved = tmp_path / "report.html", tmp_path / "saved"
    result = rftctl("report", "--stack", NOVA_STACK, "--out", str(out), "--save-data", str(saved),
                    "--preflight", str(preflight), utc_now=lambda: NOW)
    assert result.code == 0, result.err
    assert result.out.splitlines()[1:] == [f"saved: {saved / name}" for name in
                                           ("run.json", "metrics.json", "grader-metrics.json", "preflight.json")]
    page = out.read_text(encoding="utf-8")
    assert_self_contained(page)
    text = "".join(parsed(page).text)
    for expected in (FINGERPRINT, "epochCount=2", "learningRate=0.0001", "minShare=0.5", DEPLOYMENT_ARN,
                     NOVA_MODEL_ARN, "Completed", "3:00:00", GRADER_SERVICE, "Passed48 (50%)",
                     "RFT is a good fit", NOVA_GRADER_VERSION):
        assert expected in text, expected

    run = load_run(saved / "run.json")
    assert (run.fingerprint, run.hyper_parameters, run.task) == (FINGERPRINT, JOB_SPEC["hyperParameters"],
                                                                 JOB_SPEC["graderTask"])
    assert (run.job.id, run.job.status, run.tuned_model.id) == (NOVA_JOB_ARN, "Completed", DEPLOYMENT_ARN)
    # The saved directory rebuilds the same page, without AWS.
    rebuilt = tmp_path / "rebuilt.html"
    assert main(["report", "--from", str(saved), "--out", str(rebuilt)], clients=NoAws(),
                context_options={"utc_now": lambda: NOW}) == 0
    assert _without_footer(rebuilt.read_text(encoding="utf-8")) == _without_footer(page)


MANTLE_SPEC = {**JOB_SPEC, "variant": "mantle", "baseModel": "openai.gpt-oss-20b", "hyperParameters": {"n_epochs": 1}}


def test_an_online_mantle_report_without_a_ledger_entry(rftctl, aws, mantle_server, tmp_path: Path) -> None:
    expect_mantle_stack(aws)
    expect_parameter(aws, MANTLE_REGION, f"/bedrock-rft/{MANTLE_STACK}/job/id", MANTLE_JOB_ID)
    mantle_server.add_job(id=MANTLE_JOB_ID, status="succeeded", fine_tuned_model=MANTLE_TUNED_MODEL,
                          created_at=int(STARTED.timestamp()), finished_at=int(ENDED.timestamp()))
    for step, reward in ((1, 0.2), (2, 0.3), (3, 0.45)):
        mantle_server.add_metrics_event(MANTLE_JOB_ID, step, 67, critic_rewards_mean=reward)
    template = json.loads(json.dumps(TEMPLATE).replace(GRADER_SERVICE, "bedrockrft-gptoss20b-reward"))
    template["Resources"]["Job"]["Properties"]["JobSpec"] = json.dumps(MANTLE_SPEC)
    aws.stub("cloudformation", MANTLE_REGION).add_response(
        "get_template", {"TemplateBody": json.dumps(template)},
        {"StackName": MANTLE_STACK, "TemplateStage": "Original"})
    aws.stub("s3", MANTLE_REGION).add_client_error(
        "get_object", service_error_code="NoSuchKey", http_status_code=404,
        expected_params={"Bucket": "rft-data-west", "Key": f"jobs/by-id/{id_key(MANTLE_JOB_ID)}.json"})
    aws.stub("cloudwatch", MANTLE_REGION).add_response("get_metric_data", {"MetricDataResults": []}, {
        "MetricDataQueries": expected_queries(60, "bedrockrft-gptoss20b-reward", f"{MANTLE_STACK}-Grader"),
        "StartTime": STARTED, "EndTime": ENDED, "ScanBy": "TimestampAscending"})

    out = tmp_path / "report.html"
    result = rftctl("report", "--stack", MANTLE_STACK, "--region", MANTLE_REGION, "--out", str(out),
                    utc_now=lambda: NOW)
    assert result.code == 0, result.err
    assert "the job ledger has no entry for this job: its fingerprint is the stack template's" in result.err
    text = "".join(parsed(out.read_text(encoding="utf-8")).text)
    for expected in (fingerprint_of_document(MANTLE_SPEC), "n_epochs=1", MANTLE_TUNED_MODEL,
                     "chat.completions.create", mantle_server.base_url, "The step axis runs to the job's 67 steps",
                     "No grader metrics from"):
        assert expected in text, expected
    mantle_server.assert_all_signed()


def _without_footer(page: str) -> str:
    return page.split("<footer>", 1)[0]


# --- in a real browser -----------------------------------------------------------------------------


def chromium() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.environ.get("RFT_REQUIRE_BROWSER") == "1":
        pytest.fail("RFT_REQUIRE_BROWSER=1 but no chromium on PATH (Debian package chromium)")
    return found


@pytest.mark.slow
def test_the_example_report_renders_in_headless_chromium(capsys, tmp_path: Path) -> None:
    browser = chromium()
    if browser is None:
        pytest.skip("chromium is not installed (Debian package chromium); RFT_REQUIRE_BROWSER=1 makes this a failure")
    page = tmp_path / "report.html"
    code, _, stderr = run_offline(capsys, "report", "--from", str(EXAMPLE), "--out", str(page))
    assert code == 0, stderr
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,2400"]
    screenshot = tmp_path / "shot.png"
    # Both at once, each with its own profile (two cores): the screenshot, and the DOM as the browser built it.
    shooting = subprocess.Popen([*common, f"--user-data-dir={tmp_path / 'shot-profile'}", f"--screenshot={screenshot}",
                                 page.as_uri()], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dumping = subprocess.Popen([*common, f"--user-data-dir={tmp_path / 'dom-profile'}", "--dump-dom", page.as_uri()],
                               cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        dom, dump_errors = dumping.communicate(timeout=60)
        _, shot_errors = shooting.communicate(timeout=60)
    finally:
        for process in (shooting, dumping):
            if process.poll() is None:
                process.kill()
    assert dumping.returncode == 0 and shooting.returncode == 0, (dump_errors + shot_errors).decode()[-2000:]

    image = imread(screenshot)[..., :3]
    assert image.shape[:2] == (2400, 1280)
    not_white = (image < 0.94).any(axis=2)
    assert not_white.mean() > 0.08, "the screenshot is (nearly) blank"
    colours = np.unique((image[not_white] * 31).round().astype(int), axis=0)
    assert len(colours) > 50, "a page of charts has many colours"
    text = "".join(parsed(dom.decode("utf-8")).text)
    for number in example_numbers():
        assert number in text, number
