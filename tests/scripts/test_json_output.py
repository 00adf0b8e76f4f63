"""--json: every command that prints a table takes it, and prints one JSON document and nothing else on stdout."""

from __future__ import annotations

import ast
import base64
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from rftctl.cli import build_parser
from stacks.rft_job.runtime.contract import JOB_RESOURCE_TYPE, JobProperty
from tests.scripts.fakes import (
    BUCKET,
    MANTLE_JOB_ID,
    MANTLE_REGION,
    MANTLE_STACK,
    NOVA_GRADER_VERSION,
    NOVA_JOB_ARN,
    NOVA_JOB_NAME,
    NOVA_MODEL_ARN,
    NOVA_REGION,
    NOVA_STACK,
    STARTED,
    CliResult,
    expect_mantle_stack,
    expect_nova_stack,
    expect_parameter,
    nova_job,
)
from tests.scripts.test_grade import bedrock_payload, expect_invoke, write_samples
from tests.scripts.test_job_control import OLD_JOB_ARN, entry, expect_ledger
from tests.scripts.test_plan import not_deployed
from tests.scripts.test_status_watch import NOVA_JOB_ID_PARAMETER, at, expect_nova_job, stages

RFTCTL = Path(sys.modules["rftctl"].__file__).parent
# Commands whose --json document is checked in their own test module.
JSON_TESTED_ELSEWHERE = {"compare": "test_compare.py", "preflight": "test_preflight.py", "metrics": "test_metrics.py"}
# Commands whose printout is a table in all but name (one fact per aligned line): they take --json too.
TABLE_LIKE = {"status", "watch", "plan"}


def document_of(result: CliResult, kind: str) -> dict[str, Any]:
    """The one JSON document on stdout (json.loads fails on anything before or after it)."""
    document = json.loads(result.out)
    assert (document["kind"], document["version"]) == (f"rftctl.{kind}", 1)
    assert "NaN" not in result.out and "Infinity" not in result.out
    return document


# --- the parser walk ------------------------------------------------------------------------------


def _names_used(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}


def table_printing_helpers() -> set[str]:
    """format_table and every function outside commands/ that uses it, directly or through another (grading's
    results_table, ...), found by reading the package's code."""
    trees = [ast.parse(path.read_text(encoding="utf-8")) for path in RFTCTL.glob("*.py")]
    functions = [node for tree in trees for node in ast.walk(tree)
                 if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)]
    helpers = {"format_table"}
    while True:
        found = helpers | {function.name for function in functions if _names_used(function) & helpers}
        if found == helpers:
            return helpers
        helpers = found


def commands_by_parser() -> dict[str, tuple[Any, set[str]]]:
    """Every registered command: (its parser, the module names its run function's module uses)."""
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    commands = {}
    for name, parser in subparsers.choices.items():
        module = sys.modules[parser.get_default("run").__module__]
        tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
        commands[name] = (parser, _names_used(tree))
    return commands


def has_json_option(parser: Any) -> bool:
    return any("--json" in action.option_strings for action in parser._actions)


def test_every_command_that_prints_a_table_takes_json() -> None:
    helpers = table_printing_helpers()
    assert {"format_table", "results_table"} <= helpers
    commands = commands_by_parser()
    table_commands = {name for name, (_, used) in commands.items() if used & helpers}
    # The walk finds what is known to print tables (so it is not vacuous) ...
    assert {"grade", "preflight", "history", "compare", "metrics"} <= table_commands
    # ... and every such command, and the table-like ones, take --json.
    missing = sorted(name for name in table_commands | TABLE_LIKE if not has_json_option(commands[name][0]))
    assert missing == [], f"commands printing a table without --json: {missing}"


def test_every_json_command_has_its_document_tested() -> None:
    with_json = {name for name, (parser, _) in commands_by_parser().items() if has_json_option(parser)}
    tested_here = {"grade", "history", "status", "watch", "plan"}
    assert with_json == tested_here | set(JSON_TESTED_ELSEWHERE)


# --- grade --------------------------------------------------------------------------------------


def test_grade_json_locally(rftctl, tmp_path: Path) -> None:
    path = write_samples(tmp_path)
    result = rftctl("grade", str(path), "--json")
    assert result.code == 0, result.err
    document = document_of(result, "grade")
    assert (document["mode"], document["file"], document["functionArn"]) == ("local", str(path), None)
    assert document["task"]["name"] == "char-limit"
    assert [(r["id"], r["reward"], r["passed"]) for r in document["results"]] == [
        (0, 1.0, True), (2, 1.0, True), (3, pytest.approx(0.2), False)]
    assert document["results"][2]["metrics"]["char_count"] == 16
    assert document["summary"] == {"count": 3, "meanReward": pytest.approx(2.2 / 3), "passCount": 2,
                                   "passRate": pytest.approx(2 / 3)}
    assert (document["problems"], document["functionError"], document["localComparison"]) == ([], None, None)
    assert "task char-limit" in result.err  # notes stay on stderr


def test_grade_json_remote_agrees_with_the_local_code(rftctl, aws, tmp_path: Path) -> None:
    from lambda_reward.runtime.grader import grade_batch

    expect_nova_stack(aws)
    expect_invoke(aws, json.dumps(grade_batch(bedrock_payload())).encode())
    result = rftctl("grade", str(write_samples(tmp_path)), "--remote", "--stack", NOVA_STACK, "--json")
    assert result.code == 0, result.err
    document = document_of(result, "grade")
    assert (document["mode"], document["functionArn"]) == ("remote", NOVA_GRADER_VERSION)
    assert document["summary"]["count"] == 3
    assert document["localComparison"] == {"agrees": True, "differingIds": []}


def test_grade_json_remote_lists_contract_problems_and_exits_1(rftctl, aws, tmp_path: Path) -> None:
    from lambda_reward.runtime.grader import grade_batch

    reply = json.loads(json.dumps(grade_batch(bedrock_payload())))
    reply[1]["id"] = "2"
    expect_nova_stack(aws)
    expect_invoke(aws, json.dumps(reply).encode())
    result = rftctl("grade", str(write_samples(tmp_path)), "--remote", "--stack", NOVA_STACK, "--json")
    assert result.code == 1
    document = document_of(result, "grade")
    assert document["problems"] == ["result 1 (sample id 2): id is '2', expected 2 (same order, same type)"]
    assert (document["results"], document["summary"]) == (None, None)
    assert document["reply"] == reply


def test_grade_json_remote_reports_a_function_error(rftctl, aws, tmp_path: Path) -> None:
    error = {"errorType": "KeyError", "errorMessage": "'messages'", "stackTrace": []}
    log = base64.b64encode(b"START\n[ERROR] KeyError: 'messages'\nEND").decode()
    expect_nova_stack(aws)
    expect_invoke(aws, json.dumps(error).encode(), FunctionError="Unhandled", LogResult=log)
    result = rftctl("grade", str(write_samples(tmp_path)), "--remote", "--stack", NOVA_STACK, "--json")
    assert result.code == 1
    document = document_of(result, "grade")
    assert document["functionError"] == {"kind": "Unhandled", "message": "KeyError: 'messages'",
                                         "logTail": "START\n[ERROR] KeyError: 'messages'\nEND"}
    assert "[ERROR] KeyError" in result.err


# --- history, status, watch -----------------------------------------------------------------------


def test_history_json_has_every_ledger_row(rftctl, aws) -> None:
    expect_nova_stack(aws)
    old = entry("bedrock-rft-nova2lite-00000000-0000", job_id=OLD_JOB_ARN, status="Completed",
                output_model=NOVA_MODEL_ARN, launched_at="2026-11-01T09:00:00+00:00",
                ended_at="2026-11-01T13:00:00+00:00")
    running = entry(NOVA_JOB_NAME, job_id=NOVA_JOB_ARN, status="InProgress")
    expect_ledger(aws, NOVA_REGION, BUCKET, [old, running])
    expect_parameter(aws, NOVA_REGION, NOVA_JOB_ID_PARAMETER, NOVA_JOB_ARN)
    aws.stub("bedrock", NOVA_REGION).add_client_error(
        "get_model_customization_job", "ThrottlingException", "slow", 400,
        expected_params={"jobIdentifier": NOVA_JOB_ARN})
    result = rftctl("history", "--stack", NOVA_STACK, "--json")
    assert result.code == 0, result.err
    document = document_of(result, "history")
    assert (document["stack"], document["ledgerUri"], document["currentJobId"]) == (
        NOVA_STACK, f"s3://{BUCKET}/jobs/", NOVA_JOB_ARN)
    first, second = document["jobs"]
    assert (first["jobName"], first["status"], first["current"], first["refreshed"]) == (
        old.job_name, "Completed", False, False)
    assert (first["fingerprint"], first["trainedModel"], first["endedAt"]) == (
        old.fingerprint, NOVA_MODEL_ARN, "2026-11-01T13:00:00+00:00")
    # The service would not describe the running job: the ledger's status, and why it is not fresh.
    assert (second["current"], second["status"], second["refreshError"]) == (
        True, "InProgress", "ThrottlingException (400)")
    assert document["unreadableEntries"] == []


def test_status_json_has_the_facts_of_the_status_lines(rftctl, aws) -> None:
    expect_nova_stack(aws)
    expect_parameter(aws, NOVA_REGION, NOVA_JOB_ID_PARAMETER, NOVA_JOB_ARN)
    expect_nova_job(aws, nova_job("InProgress", statusDetails=stages("Completed", "Completed", "InProgress")))
    result = rftctl("status", "--stack", NOVA_STACK, "--json", utc_now=at(42.5))
    assert result.code == 0, result.err
    document = document_of(result, "status")
    assert document == {
        "kind": "rftctl.status", "version": 1,
        "stack": NOVA_STACK, "region": NOVA_REGION, "variant": "nova",
        "jobId": NOVA_JOB_ARN, "jobName": NOVA_JOB_NAME, "status": "InProgress", "ended": False, "succeeded": False,
        "stages": [{"name": "validation", "status": "Completed"}, {"name": "data processing", "status": "Completed"},
                   {"name": "training", "status": "InProgress"}],
        "createdAt": STARTED.isoformat(), "endedAt": None, "elapsedSeconds": 42.5 * 60,
        "progress": pytest.approx(2 / 3), "step": None, "totalSteps": None, "estimatedFinish": None,
        "rewardMetrics": {}, "outputModel": None, "failureMessage": None, "dashboardUrl": None,
    }


def test_mantle_status_json_has_steps_and_rewards(rftctl, aws, mantle_server) -> None:
    expect_mantle_stack(aws)
    expect_parameter(aws, MANTLE_REGION, f"/bedrock-rft/{MANTLE_STACK}/job/id", MANTLE_JOB_ID)
    mantle_server.add_job(id=MANTLE_JOB_ID, status="running", created_at=int(STARTED.timestamp()))
    mantle_server.add_metrics_event(MANTLE_JOB_ID, 4, 67, critic_rewards_mean=0.44, entropy=1.1)
    result = rftctl("status", "--stack", MANTLE_STACK, "--region", MANTLE_REGION, "--json", utc_now=at(10))
    assert result.code == 0, result.err
    document = document_of(result, "status")
    assert (document["step"], document["totalSteps"], document["rewardMetrics"]) == (
        4, 67, {"critic_rewards_mean": 0.44})
    assert document["progress"] == pytest.approx(4 / 67)


def test_watch_json_prints_the_final_status_and_keeps_its_exit_code(rftctl, aws) -> None:
    expect_nova_stack(aws)
    expect_nova_job(aws, nova_job("InProgress", statusDetails=stages("Completed", "InProgress", "NotStarted")))
    expect_nova_job(aws, nova_job("Failed", endTime=STARTED + timedelta(minutes=9), failureMessage="bad\ndata"))
    result = rftctl("watch", "--stack", NOVA_STACK, "--job", NOVA_JOB_ARN, "--json", utc_now=at(10))
    assert result.code == 1  # the job failed
    document = document_of(result, "status")
    assert (document["status"], document["ended"], document["failureMessage"]) == ("Failed", True, "bad data")
    assert "InProgress, stage: data processing" in result.err  # the progress bar stays on stderr


def test_watch_json_after_its_timeout_prints_the_last_status(rftctl, aws) -> None:
    expect_nova_stack(aws)
    expect_nova_job(aws, nova_job("InProgress"))
    clock = iter([0.0, 61.0])
    result = rftctl("watch", "--stack", NOVA_STACK, "--job", NOVA_JOB_ARN, "--timeout", "1", "--json",
                    monotonic=lambda: next(clock))
    assert result.code == 3
    assert document_of(result, "status")["status"] == "InProgress"


# --- plan -----------------------------------------------------------------------------------------


def tiny_assembly(tmp_path: Path, fingerprint: str) -> Path:
    """A cloud assembly with one stack whose job resource declares ``fingerprint`` (its JobSpec unreadable, so
    the declared value is the one compared)."""
    out = tmp_path / "cdk.out"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"version": "40.0.0", "artifacts": {NOVA_STACK: {
        "type": "aws:cloudformation:stack", "environment": f"aws://unknown-account/{NOVA_REGION}",
        "properties": {"templateFile": f"{NOVA_STACK}.template.json"}}}}))
    (out / f"{NOVA_STACK}.template.json").write_text(json.dumps({"Resources": {"Job": {
        "Type": JOB_RESOURCE_TYPE, "Properties": {JobProperty.FINGERPRINT: fingerprint, JobProperty.SPEC: "{"}}}}))
    return out


def test_plan_json_says_what_the_deploy_does_per_stack(rftctl, aws, tmp_path: Path) -> None:
    not_deployed(aws, NOVA_STACK)
    assembly = tiny_assembly(tmp_path, "ab" * 32)
    result = rftctl("plan", "--cdk-out", str(assembly), "--json")
    assert result.code == 0, result.err
    document = document_of(result, "plan")
    assert (document["assembly"], document["startsNewJobs"], document["stopsRunningJobs"]) == (str(assembly), 1, 0)
    assert document["needsConfirmation"] is True
    assert document["stacks"] == [{
        "stack": NOVA_STACK, "region": NOVA_REGION, "action": "starts", "fingerprint": "ab" * 32,
        "paidChange": True, "stopsRunningJob": False,
        "deployed": {"exists": False, "stackStatus": None, "hasJobResource": False, "fingerprint": None,
                     "jobId": None, "jobStatus": None},
        "summary": f"{NOVA_STACK} (us-east-1): starts a new paid job (fingerprint abababababab; new stack)",
    }]


def test_plan_json_with_confirm_and_no_yes_still_exits_1(rftctl, aws, tmp_path: Path) -> None:
    not_deployed(aws, NOVA_STACK)
    result = rftctl("plan", "--cdk-out", str(tiny_assembly(tmp_path, "cd" * 32)), "--json", "--confirm",
                    ask=lambda question: None)
    assert result.code == 1
    assert document_of(result, "plan")["stacks"][0]["action"] == "starts"
    assert "not deploying: this deploy would start 1 new paid job" in result.err
