"""rftctl preflight: base-model sampling (stubbed Converse / local mantle), grading, verdict."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rftctl.commands.preflight import verdict, verdict_code
from tests.scripts.fakes import (
    MANTLE_MODEL,
    MANTLE_REGION,
    MANTLE_STACK,
    NOVA_INFERENCE_PROFILE,
    NOVA_STACK,
    expect_converse,
    expect_mantle_stack,
    expect_nova_stack,
    json_lines,
)

PROMPTS = [
    ("AIとは何か15文字以内で説明して", 15),
    ("クラウドを20文字以内で説明して", 20),
    ("IoTを10文字以内で説明して", 10),
]
# Two samples per prompt: prompt 1 always passes, prompt 2 is split, prompt 3 always misses.
ANSWERS = [
    "人工知能のこと",  # 7  pass
    "機械が考える技術",  # 8  pass
    "ネット経由で使う計算資源",  # 12 pass
    "インターネット経由でサーバーやストレージを使う仕組み",  # 26 over 20 -> 0.35
    "モノのインターネットの略称です。",  # 16 over 10 -> 0.2
    "あらゆるモノがネットにつながる仕組み",  # 18 over 10 -> 0.1
]


def write_prompts(tmp_path: Path) -> Path:
    """The prompts, the last without a char_limit field: its limit is the one its wording states."""
    records = [{"messages": [{"role": "user", "content": p}], "char_limit": n} for p, n in PROMPTS]
    del records[-1]["char_limit"]
    path = tmp_path / "prompts.jsonl"
    path.write_text(json_lines(*records), encoding="utf-8")
    return path


def test_verdict_thresholds() -> None:
    assert verdict(0.96, unnecessary_at=0.95, sft_first_at=0.05).startswith("RFT is unnecessary")
    assert verdict(0.95, unnecessary_at=0.95, sft_first_at=0.05).startswith("RFT is unnecessary")
    assert verdict(0.05, unnecessary_at=0.95, sft_first_at=0.05).startswith("Start with supervised fine-tuning")
    assert verdict(0.5, unnecessary_at=0.95, sft_first_at=0.05).startswith("RFT is a good fit")
    assert verdict(0.5, unnecessary_at=0.4, sft_first_at=0.05).startswith("RFT is unnecessary")
    assert [verdict_code(rate, unnecessary_at=0.95, sft_first_at=0.05) for rate in (0.95, 0.5, 0.05)] == [
        "rft-unnecessary", "rft-fit", "sft-first"]


def report_lines(out: str) -> dict[str, str]:
    lines = {}
    for line in out.splitlines():
        key, _, value = line.partition("  ")
        if key and value:
            lines[key.strip()] = value.strip()
    return lines


def test_preflight_nova_samples_the_inference_profile_and_grades(rftctl, aws, tmp_path: Path) -> None:
    expect_nova_stack(aws)
    for index, (prompt, _) in enumerate(PROMPTS):
        for k in range(2):
            expect_converse(aws, NOVA_INFERENCE_PROFILE, prompt, ANSWERS[index * 2 + k], temperature=1.0)
    result = rftctl(
        "preflight", str(write_prompts(tmp_path)), "--stack", NOVA_STACK, "--samples", "2", "--concurrency", "1"
    )
    assert result.code == 0, result.err
    table = result.out.split("\n\n")[0].splitlines()
    assert table[0].split() == ["prompt", "limit", "lengths", "rewards", "pass", "spread"]
    # limit | lengths (2) | rewards (2) | pass | spread, after the (truncated) prompt
    assert [row.split()[-7:] for row in table[2:]] == [
        ["15", "7", "8", "1.00", "1.00", "2/2", "none"],
        ["20", "12", "26", "1.00", "0.35", "1/2", "yes"],
        ["10", "16", "18", "0.20", "0.10", "0/2", "yes"],
    ]
    summary = report_lines(result.out)
    assert summary["samples"] == "6 over 3 prompts"
    # (1 + 1 + 1 + 0.35 + 0.2 + 0.1) / 6
    assert summary["mean reward"] == "0.608"
    assert summary["pass rate"] == "50%"
    assert summary["same-reward"].startswith("33% of prompts")
    assert "verdict: RFT is a good fit: the base model passes 50%" in result.out


def test_preflight_says_sft_first_when_nothing_passes(rftctl, aws, tmp_path: Path) -> None:
    expect_nova_stack(aws)
    for prompt, _ in PROMPTS:
        expect_converse(aws, "my-profile", prompt, "あ" * 40, temperature=0.7)
    result = rftctl(
        "preflight",
        str(write_prompts(tmp_path)),
        "--stack",
        NOVA_STACK,
        "--samples",
        "1",
        "--temperature",
        "0.7",
        "--model-id",
        "my-profile",
        "--concurrency",
        "1",
    )
    assert result.code == 0
    assert "verdict: Start with supervised fine-tuning (SFT): the base model passes only 0%" in result.out


def test_preflight_mantle_uses_chat_completions(rftctl, aws, mantle_server, tmp_path: Path) -> None:
    expect_mantle_stack(aws)
    mantle_server.chat_answers[MANTLE_MODEL] = {p: "短い答え" for p, _ in PROMPTS}
    result = rftctl(
        "preflight",
        str(write_prompts(tmp_path)),
        "--stack",
        MANTLE_STACK,
        "--region",
        MANTLE_REGION,
        "--samples",
        "2",
        "--unnecessary-above",
        "0.9",
    )
    assert result.code == 0, result.err
    assert "verdict: RFT is unnecessary: the base model already passes 100%" in result.out
    chats = mantle_server.calls("POST", "/chat/completions")
    assert len(chats) == 6
    bodies = [call.json() for call in chats]
    assert {body["model"] for body in bodies} == {MANTLE_MODEL}
    assert {body["temperature"] for body in bodies} == {1.0}
    assert sorted(body["messages"][0]["content"] for body in bodies) == sorted(p for p, _ in PROMPTS for _ in range(2))
    mantle_server.assert_all_signed()


def test_preflight_json_is_the_report_as_data(rftctl, aws, tmp_path: Path) -> None:
    expect_nova_stack(aws)
    for index, (prompt, _) in enumerate(PROMPTS):
        for k in range(2):
            expect_converse(aws, NOVA_INFERENCE_PROFILE, prompt, ANSWERS[index * 2 + k], temperature=1.0)
    path = write_prompts(tmp_path)
    result = rftctl("preflight", str(path), "--stack", NOVA_STACK, "--samples", "2", "--concurrency", "1", "--json",
                    utc_now=lambda: datetime(2026, 12, 1, 14, 0, tzinfo=UTC))
    assert result.code == 0, result.err
    document = json.loads(result.out)  # nothing but the document on stdout
    assert (document["kind"], document["version"]) == ("rftctl.preflight", 1)
    assert (document["stack"], document["region"], document["variant"]) == (NOVA_STACK, "us-east-1", "nova")
    assert document["task"]["name"] == "char-limit" and document["promptSource"] == str(path)
    assert document["createdAt"] == "2026-12-01T14:00:00+00:00"
    assert document["model"] == {"id": NOVA_INFERENCE_PROFILE}
    assert document["settings"] == {"temperature": 1.0, "maxTokens": 512, "samplesPerPrompt": 2,
                                    "unnecessaryAbove": 0.95, "sftBelow": 0.05}
    assert document["promptMetric"] == {"name": "char_limit", "label": "limit"}
    summary = document["summary"]
    assert (summary["samples"], summary["prompts"], summary["passRate"]) == (6, 3, 0.5)
    assert summary["meanReward"] == pytest.approx((1 + 1 + 1 + 0.35 + 0.2 + 0.1) / 6)
    assert summary["sameRewardShare"] == pytest.approx(1 / 3)
    assert summary["verdict"] == "rft-fit" and summary["verdictText"].startswith("RFT is a good fit")
    assert [(p["line"], p["promptMetric"], p["answerMetrics"], p["passes"], p["uniform"])
            for p in document["prompts"]] == [
        (1, 15, [7, 8], [True, True], True),
        (2, 20, [12, 26], [True, False], False),
        (3, 10, [16, 18], [False, False], False),
    ]
    assert document["prompts"][1]["rewards"] == pytest.approx([1.0, 0.35])


@pytest.mark.parametrize(
    "option",
    [["--samples", "0"], ["--limit", "0"], ["--sft-below", "0.9", "--unnecessary-above", "0.5"],
     ["--temperature", "nan"], ["--temperature", "-1"]],
)
def test_preflight_rejects_bad_options(rftctl, option: list[str], tmp_path: Path) -> None:
    result = rftctl("preflight", str(write_prompts(tmp_path)), *option)
    assert result.code == 2
    assert len(result.err.strip().splitlines()) == 1
