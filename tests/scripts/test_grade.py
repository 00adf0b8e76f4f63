"""rftctl grade: local scoring with the real grader, and --remote through a stubbed Lambda invoke."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from lambda_reward.runtime.grader import grade_batch
from rftctl.grading import reply_problems, results_table
from rftctl.samples import grader_sample
from tests.scripts.fakes import (
    NOVA_GRADER_VERSION,
    NOVA_REGION,
    NOVA_STACK,
    expect_nova_stack,
    json_lines,
    streaming,
)

BEDROCK_SAMPLE = {
    "id": 0,
    "messages": [
        {"role": "user", "content": "AIとは何か30文字以内で説明して"},
        {"role": "assistant", "content": "人工知能の略で、機械が学習・推論する技術"},
    ],
}
SIMPLE_PASS = {"prompt": "機械学習を20文字以内で説明して", "answer": "データから学ぶ技術"}
SIMPLE_OVER = {
    "prompt": "IoTを10文字以内で説明して",
    "answer": "モノのインターネットの略称です。",
    "char_limit": 10,  # an extra field: sent under metadata
}


def write_samples(tmp_path: Path) -> Path:
    path = tmp_path / "samples.jsonl"
    path.write_text(json_lines(BEDROCK_SAMPLE, SIMPLE_PASS, SIMPLE_OVER), encoding="utf-8")
    return path


def bedrock_payload() -> list[dict]:
    """The three samples exactly as rftctl sends them: simple lines get their line number as id."""
    return [
        BEDROCK_SAMPLE,
        {
            "id": 2,
            "messages": [
                {"role": "user", "content": SIMPLE_PASS["prompt"]},
                {"role": "assistant", "content": SIMPLE_PASS["answer"]},
            ],
        },
        {
            "id": 3,
            "messages": [
                {"role": "user", "content": SIMPLE_OVER["prompt"]},
                {"role": "assistant", "content": SIMPLE_OVER["answer"]},
            ],
            "metadata": {"char_limit": 10},
        },
    ]


def test_simple_lines_become_bedrock_samples(tmp_path: Path) -> None:
    converted = grader_sample({**SIMPLE_PASS, "char_limit": 20}, path=tmp_path, line=7)
    # Extra fields go under metadata, where the reference says Bedrock puts them.
    assert converted == {
        "id": 7,
        "messages": [
            {"role": "user", "content": SIMPLE_PASS["prompt"]},
            {"role": "assistant", "content": SIMPLE_PASS["answer"]},
        ],
        "metadata": {"char_limit": 20},
    }
    assert "metadata" not in grader_sample(SIMPLE_PASS, path=tmp_path, line=1)


def test_grade_locally_prints_scores_metrics_and_summary(rftctl, tmp_path: Path) -> None:
    result = rftctl("grade", str(write_samples(tmp_path)))
    assert result.code == 0, result.err
    header, _rule, *rows = result.out.split("\n\n")[0].splitlines()
    # id, reward, pass mark, then the grader's metrics (char_count, char_limit, passed, ...)
    assert header.split()[:6] == ["id", "reward", "pass", "char_count", "char_limit", "passed"]
    assert [row.split()[:6] for row in rows] == [
        ["0", "1.000", "o", "20", "30", "1"],
        ["2", "1.000", "o", "9", "20", "1"],
        # 16 characters over a limit of 10: 0.5 * (20 - 16) / 10 = 0.2
        ["3", "0.200", "x", "16", "10", "0"],
    ]
    assert result.out.strip().splitlines()[-1] == "samples 3  mean reward 0.733  pass rate 67% (2/3)"


def test_grade_rejects_a_line_that_is_no_sample(rftctl, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json_lines(SIMPLE_PASS, {"question": "?"}), encoding="utf-8")
    result = rftctl("grade", str(path))
    assert result.code == 1
    assert result.err.startswith(f"rftctl: error: {path}:2: expected a Bedrock sample")


def expect_invoke(aws, reply: bytes, **extra) -> None:
    aws.stub("lambda", NOVA_REGION).add_response(
        "invoke",
        {"StatusCode": 200, "Payload": streaming(reply), "ExecutedVersion": "7", **extra},
        {
            "FunctionName": NOVA_GRADER_VERSION,
            "InvocationType": "RequestResponse",
            "LogType": "Tail",
            "Payload": json.dumps(bedrock_payload(), ensure_ascii=False).encode("utf-8"),
        },
    )


def test_grade_remote_sends_the_bedrock_list_and_checks_the_reply(rftctl, aws, tmp_path: Path) -> None:
    expect_nova_stack(aws)
    expect_invoke(aws, json.dumps(grade_batch(bedrock_payload())).encode())
    result = rftctl("grade", str(write_samples(tmp_path)), "--remote", "--stack", NOVA_STACK)
    assert result.code == 0, result.err
    assert result.out.strip().splitlines()[-1] == "samples 3  mean reward 0.733  pass rate 67% (2/3)"
    assert "agrees with the local code" in result.err


def test_grade_remote_fails_on_a_reply_that_breaks_the_contract(rftctl, aws, tmp_path: Path) -> None:
    reply = json.loads(json.dumps(grade_batch(bedrock_payload())))  # an editable copy of the real reply
    reply[1]["id"] = "2"  # a string where Bedrock sent an integer
    reply[2]["aggregate_reward_score"] = 1.5
    reply[0]["metrics_list"][0]["type"] = "Score"
    expect_nova_stack(aws)
    expect_invoke(aws, json.dumps(reply).encode())
    result = rftctl("grade", str(write_samples(tmp_path)), "--remote", "--stack", NOVA_STACK)
    assert result.code == 1
    assert "breaks the Bedrock contract (3 problems)" in result.out
    assert "result 1 (sample id 2): id is '2', expected 2" in result.out
    assert "result 2 (sample id 3): aggregate_reward_score 1.5 is outside [0, 1]" in result.out
    assert "result 0 (sample id 0): metrics_list[0].type is 'Score'" in result.out


def test_grade_remote_reports_a_function_error(rftctl, aws, tmp_path: Path) -> None:
    error = {"errorType": "KeyError", "errorMessage": "'messages'", "stackTrace": []}
    log = base64.b64encode(b"START RequestId\n[ERROR] KeyError: 'messages'\nEND").decode()
    expect_nova_stack(aws)
    expect_invoke(aws, json.dumps(error).encode(), FunctionError="Unhandled", LogResult=log)
    result = rftctl("grade", str(write_samples(tmp_path)), "--remote", "--stack", NOVA_STACK)
    assert result.code == 1
    assert result.out.strip() == "the grader function failed (Unhandled): KeyError: 'messages'"
    assert "[ERROR] KeyError" in result.err


def test_results_table_shows_every_metric_any_result_has() -> None:
    results = [
        {
            "id": "a",
            "aggregate_reward_score": 1.0,
            "metrics_list": [{"name": "char_count", "value": 5, "type": "Metric"}],
        },
        {
            "id": "b",
            "aggregate_reward_score": 0.0,
            "metrics_list": [{"name": "no_limit", "value": 1, "type": "Metric"}],
        },
    ]
    assert [line.split() for line in results_table(results).splitlines()] == [
        ["id", "reward", "pass", "char_count", "no_limit"],
        ["--", "------", "----", "----------", "--------"],
        ["a", "1.000", "o", "5", "-"],
        ["b", "0.000", "x", "-", "1"],
    ]


def test_reply_problems_counts_and_shapes() -> None:
    samples = bedrock_payload()
    assert reply_problems(samples, grade_batch(samples)) == []
    assert reply_problems(samples, {"results": []}) == ["reply is dict, expected a JSON list of results"]
    short = grade_batch(samples)[:2]
    assert reply_problems(samples, short) == ["reply has 2 results for 3 samples"]
    no_score = json.loads(json.dumps(grade_batch(samples)))
    del no_score[0]["aggregate_reward_score"]
    no_score[1]["aggregate_reward_score"] = True
    assert reply_problems(samples, no_score) == [
        "result 0 (sample id 0): aggregate_reward_score is None, expected a number",
        "result 1 (sample id 2): aggregate_reward_score is True, expected a number",
    ]
    # JSON allows an integer no float can hold: a problem with the reply, never a crash of the check.
    huge = json.loads(json.dumps(grade_batch(samples)))
    huge[0]["aggregate_reward_score"] = 10**400
    huge[1]["metrics_list"] = [{"name": "n", "value": -(10**400), "type": "Metric"}]
    problems = reply_problems(samples, huge)
    assert len(problems) == 2 and "aggregate_reward_score is 1000" in problems[0]
    assert problems[1].startswith("result 1 (sample id 2): metrics_list[0].value is -1000")
    assert problems[1].endswith(", expected a number")
