"""The fake mantle server's SigV4 check must reject what AWS would reject, or the mantle tests prove nothing."""

from __future__ import annotations

import openai
import pytest
from openai import OpenAI
from openai.providers import bedrock

from stacks.rft_job.runtime import clients
from tests.stacks.rft_job.fake_mantle import FakeMantle, verify_sigv4


@pytest.fixture
def signed_list_request(mantle: FakeMantle):
    client = clients.mantle_client()
    list(client.fine_tuning.jobs.list(metadata={"k": "v w"}, limit=5))
    mantle.assert_all_signed()
    return mantle.requests[0]


@pytest.fixture
def signed_upload(mantle: FakeMantle):
    clients.mantle_client().files.create(file=("t.jsonl", b'{"a": 1}\n', "application/jsonl"), purpose="fine-tune")
    mantle.assert_all_signed()
    return mantle.requests[0]


def test_the_recorded_requests_verify(signed_list_request, signed_upload) -> None:
    for request in (signed_list_request, signed_upload):
        assert verify_sigv4(request.method, request.raw_path, request.headers, request.body) is None


def test_a_changed_body_is_rejected(signed_upload) -> None:
    tampered = signed_upload.body.replace(b'{"a": 1}', b'{"a": 2}')
    assert verify_sigv4("POST", signed_upload.raw_path, signed_upload.headers, tampered) is not None
    # Even with a matching content hash, the signature covers the hash.
    import hashlib

    headers = {**signed_upload.headers, "x-amz-content-sha256": hashlib.sha256(tampered).hexdigest()}
    assert verify_sigv4("POST", signed_upload.raw_path, headers, tampered) == "signature does not verify"


def test_a_changed_query_or_path_is_rejected(signed_list_request) -> None:
    request = signed_list_request
    assert verify_sigv4("GET", request.raw_path.replace("limit=5", "limit=6"), request.headers, b"") is not None
    assert (
        verify_sigv4("GET", request.raw_path.replace("/fine_tuning/jobs", "/files"), request.headers, b"") is not None
    )
    assert verify_sigv4("POST", request.raw_path, request.headers, b"") is not None


def test_a_changed_signed_header_is_rejected(signed_list_request) -> None:
    headers = {**signed_list_request.headers, "x-amz-date": "20200101T000000Z"}
    assert verify_sigv4("GET", signed_list_request.raw_path, headers, b"") is not None
    headers = dict(signed_list_request.headers)
    del headers["authorization"]
    assert verify_sigv4("GET", signed_list_request.raw_path, headers, b"") == "no Authorization header"


def test_wrong_region_or_service_is_rejected(mantle: FakeMantle) -> None:
    wrong_region = OpenAI(provider=bedrock(region="us-east-1", base_url=mantle.base_url, api_key=None), max_retries=0)
    with pytest.raises(openai.APIStatusError):
        wrong_region.fine_tuning.jobs.retrieve("ftjob-1")
    wrong_service = OpenAI(
        provider=bedrock(region="us-west-2", base_url=mantle.base_url, api_key=None, endpoint="runtime"), max_retries=0
    )
    with pytest.raises(openai.APIStatusError):
        wrong_service.fine_tuning.jobs.retrieve("ftjob-1")
    assert len(mantle.signature_failures) == 2
    assert "us-east-1/bedrock-mantle" in mantle.signature_failures[0]
    assert "us-west-2/bedrock," in mantle.signature_failures[1]


def test_the_plain_sdk_client_cannot_sign_uploads(mantle: FakeMantle) -> None:
    """Why clients.mantle_client buffers bodies: the stock client refuses to sign multipart uploads."""
    import openai

    plain = OpenAI(provider=bedrock(region="us-west-2", base_url=mantle.base_url, api_key=None), max_retries=0)
    with pytest.raises(openai.OpenAIError, match="replayable request body"):
        plain.files.create(file=("t.jsonl", b"{}\n", "application/jsonl"), purpose="fine-tune")


def test_bearer_tokens_in_the_environment_are_ignored(mantle: FakeMantle, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_BEARER_TOKEN_BEDROCK", "stored-api-key")
    clients.reset_client_caches()
    clients.mantle_client().fine_tuning.jobs.list(limit=1)
    assert mantle.requests[0].headers["authorization"].startswith("AWS4-HMAC-SHA256 ")
    mantle.assert_all_signed()
