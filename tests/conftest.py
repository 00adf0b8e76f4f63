"""Shared test set-up: no AWS account, no Docker, quiet jsii, fast synths."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def fake_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials that sign requests but reach nothing: every AWS call must be stubbed."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLETESTKEY00",
        "AWS_SECRET_ACCESS_KEY": "test-secret-key-for-sigv4-checks-only",
        "AWS_SESSION_TOKEN": "test-session-token",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
