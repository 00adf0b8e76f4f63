"""The Lambda entry point end to end: results, EMF metrics, logs, errors, package import."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from lambda_reward.runtime import handler as handler_module
from lambda_reward.runtime.grader import grade_batch
from lambda_reward.runtime.handler import (
    MAX_LOGGED_ID_LENGTH,
    MAX_MALFORMED_WARNINGS,
    handler,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
PROMPT = "AIとは何か30文字以内で説明して"


@dataclass
class FakeLambdaContext:
    function_name: str = "rft-reward-test"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:rft-reward-test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


def sample(sample_id: object, answer: str, prompt: str = PROMPT) -> dict:
    return {
        "id": sample_id,
        "messages": [{"role": "user", "content": prompt}, {"role": "assistant", "content": answer}],
    }


@pytest.fixture(autouse=True)
def fresh_metrics_and_log_stream():
    # Powertools keeps metrics on the class; with metrics disabled they are not flushed.
    handler_module.metrics.clear_metrics()
    log_handler = handler_module.logger.registered_handler
    import_time_stream = log_handler.stream
    yield
    log_handler.stream = import_time_stream
    handler_module.metrics.clear_metrics()


def stdout_json(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def emf_metrics(records: list[dict]) -> dict[str, float]:
    """Metric values from the EMF blobs Powertools printed, by metric name."""
    values = {}
    for record in records:
        if "_aws" not in record:
            continue
        for directive in record["_aws"]["CloudWatchMetrics"]:
            assert directive["Namespace"] == "BedrockRft"
            for metric in directive["Metrics"]:
                (values[metric["Name"]],) = record[metric["Name"]]  # one value per invocation
    return values


def log_records(records: list[dict], level: str) -> list[dict]:
    return [record for record in records if record.get("level") == level]


def invoke(event: object) -> object:
    # The Logger bound its stream at import; point it at the stdout capsys captures now.
    # (Plain assignment: setStream would flush the old stream, which may be closed.)
    handler_module.logger.registered_handler.stream = sys.stdout
    # Any warning (e.g. Powertools' "No application metrics to publish") fails the test.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return handler(event, FakeLambdaContext())


def test_returns_exactly_what_grade_batch_returns(capsys) -> None:
    event = [
        sample(0, "人工知能の略で、機械が学習・推論する技術"),
        sample("b", "あ" * 45),
        sample(2, "答え", "説明して"),
    ]
    assert invoke(event) == grade_batch(event)


def test_publishes_batch_metrics(capsys) -> None:
    event = [sample(0, "人工知能"), sample(1, "あ" * 45), sample(2, "答え", "説明して"), {"id": 3}]
    results = invoke(event)
    assert [result["aggregate_reward_score"] for result in results] == [1.0, 0.25, 0.0, 0.0]
    values = emf_metrics(stdout_json(capsys))
    assert values["SamplesScored"] == 4
    assert values["MeanReward"] == pytest.approx(1.25 / 4)
    assert values["MalformedSamples"] == 1
    assert values["FlaggedSamples"] == 1  # the prompt without a limit
    assert values["PassedSamples"] == 1


def test_empty_batch_publishes_counts_but_no_mean(capsys) -> None:
    assert invoke([]) == []
    values = emf_metrics(stdout_json(capsys))
    assert values["SamplesScored"] == 0
    assert "MeanReward" not in values


def test_logs_one_info_line_per_batch_and_no_per_sample_lines(capsys) -> None:
    invoke([sample(i, "答え") for i in range(50)])
    records = stdout_json(capsys)
    info = log_records(records, "INFO")
    assert len(info) == 1
    assert info[0]["message"] == "Scored batch"
    assert info[0]["samples"] == 50
    assert info[0]["service"] == "rft-reward"
    assert info[0]["function_request_id"] == FakeLambdaContext.aws_request_id
    assert not log_records(records, "WARNING")


def test_warns_per_malformed_sample_up_to_a_cap(capsys) -> None:
    event = [sample(0, "答え")] + [{"id": f"bad-{i}"} for i in range(MAX_MALFORMED_WARNINGS + 5)]
    results = invoke(event)
    assert len(results) == len(event)
    warnings_logged = log_records(stdout_json(capsys), "WARNING")
    individual = [record for record in warnings_logged if "sample_index" in record]
    assert len(individual) == MAX_MALFORMED_WARNINGS
    assert individual[0]["sample_index"] == 1
    assert individual[0]["sample_id"] == "bad-0"
    assert individual[0]["reason"] == "sample has no 'messages'"
    (summary,) = [record for record in warnings_logged if "suppressed_warnings" in record]
    assert summary["suppressed_warnings"] == 5
    assert summary["malformed_samples"] == MAX_MALFORMED_WARNINGS + 5


def test_odd_ids_never_break_or_flood_the_log(capsys) -> None:
    deep: list = []
    for _ in range(980):  # about as deep as json.loads decodes; logging re-raises RecursionError
        deep = [deep]
    event = [{"id": deep}, {"id": "x" * 1_000_000}, {"id": "short"}, {"id": 7.5}]
    results = invoke(event)
    assert [result["id"] for result in results] == [event[0]["id"], event[1]["id"], "short", 7.5]
    logged = [record["sample_id"] for record in log_records(stdout_json(capsys), "WARNING")]
    assert logged == ["array of 1", repr("x" * MAX_LOGGED_ID_LENGTH) + "...", "short", 7.5]


@pytest.mark.parametrize(
    ("event", "described"),
    [
        ({"samples": [], "id": 1}, "object with keys ['id', 'samples']"),
        ({"trajectories": {"id": 1}}, None),
        ("[]", "string"),
        (None, "null"),
        (42, "number"),
    ],
)
def test_an_event_of_another_shape_raises(event: object, described: str | None, capsys) -> None:
    with pytest.raises(TypeError) as error:
        invoke(event)
    if described is None:
        assert str(error.value) == "'trajectories' is object, expected an array of samples"
    else:
        assert str(error.value) == (
            "expected the event to be a JSON array of samples, an object with 'trajectories', or one sample "
            f"object with 'messages'; got {described}"
        )
    assert emf_metrics(stdout_json(capsys))["InvalidEvents"] == 1


def test_the_three_event_shapes_aws_graders_accept(capsys) -> None:
    """A list (user guide), {"trajectories": [...]} (AWS's GPT-OSS sample), one sample (the judge sample)."""
    batch = [sample("a", "人工知能の略"), sample(7, "x" * 31)]
    expected = grade_batch(batch)
    assert invoke(batch) == expected
    assert invoke({"trajectories": batch}) == expected
    assert invoke({"trajectories": []}) == []
    assert invoke(sample("a", "人工知能の略")) == expected[:1]
    assert emf_metrics(stdout_json(capsys)).get("InvalidEvents") is None


def test_works_with_metrics_disabled(monkeypatch, capsys) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    assert invoke([sample(0, "答え")])[0]["aggregate_reward_score"] == 1.0
    assert emf_metrics(stdout_json(capsys)) == {}


def run_python(code: str, **env: str) -> str:
    clean_env = {k: v for k, v in os.environ.items() if not k.startswith("POWERTOOLS_")}
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env={**clean_env, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return completed.stdout.strip()


def test_service_name_and_namespace_come_from_the_environment() -> None:
    code = "from lambda_reward.runtime import handler as h; print(h.SERVICE_NAME, h.METRICS_NAMESPACE)"
    assert run_python(code) == "rft-reward BedrockRft"
    assert run_python(code, POWERTOOLS_SERVICE_NAME="svc", POWERTOOLS_METRICS_NAMESPACE="Ns") == "svc Ns"


def test_package_import_does_not_load_powertools() -> None:
    code = (
        "import sys; from lambda_reward.runtime.tasks.char_limit import count_characters, extract_char_limit; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'aws_lambda_powertools', 'boto3'}))"
    )
    assert run_python(code) == "[]"
