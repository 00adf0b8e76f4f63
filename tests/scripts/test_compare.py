"""rftctl compare: base vs tuned on the same prompts, graded; the seed article's table and totals, several
samples per prompt, 95% intervals over prompts, the CSV and the rftctl.compare JSON document."""

from __future__ import annotations

import csv
import json
import os
import statistics
from datetime import UTC, datetime
from pathlib import Path

import pytest

from lambda_reward.runtime.tasks import load_task
from lambda_reward.runtime.tasks.char_limit import extract_char_limit
from rftctl.commands.compare import build_comparison, comparison_table
from rftctl.documents import write_atomically
from rftctl.errors import CliError
from rftctl.samples import PromptRecord, read_prompt_records
from rftctl.statistics import wilson_interval
from tests.scripts.fakes import (
    BUCKET,
    DEPLOYMENT_ARN,
    MANTLE_MODEL,
    MANTLE_REGION,
    MANTLE_STACK,
    MANTLE_TUNED_MODEL,
    NOVA_INFERENCE_PROFILE,
    NOVA_MODEL_ARN,
    NOVA_REGION,
    NOVA_STACK,
    expect_converse,
    expect_mantle_stack,
    expect_nova_stack,
    expect_parameter,
    json_lines,
    streaming,
)
from tests.scripts.test_deploy_model import DEPLOYMENT_PARAMETER, deployment

REPO_VALIDATION = Path(__file__).resolve().parents[2] / "training-data" / "char-limit/validation.jsonl"
# The seed article's comparison (n=10, temperature 0): subject, limit, tuned length, base length.
SEED_TABLE = [
    ("機械学習を", 20, 17, 20),
    ("インターネットを", 25, 19, 27),
    ("データベースを", 20, 11, 25),
    ("プログラミングを", 30, 21, 28),
    ("ブロックチェーンを", 25, 13, 16),
    ("AIとは何か", 15, 12, 15),
    ("クラウドコンピューティングを", 35, 27, 41),
    ("APIとは何か", 20, 26, 31),
    ("セキュリティを", 25, 24, 35),
    ("IoTを", 15, 11, 26),
]


# t(0.975) for 9 and 2 degrees of freedom, from printed tables (not from the code under test).
T_975_9_DF = 2.262157163
T_975_2_DF = 4.302652730
Z_975 = 1.959963984540054
CREATED = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)


def prompt(subject: str, limit: int) -> str:
    return f"{subject}{limit}文字以内で説明して"


def char_limit_reward(limit: int, length: int) -> float:
    """char-limit's documented rule: 1 within the limit, an overshoot earns up to 0.5, falling to 0 at twice it."""
    return 1.0 if length <= limit else max(0.0, 0.5 * (2 * limit - length) / limit)


def t_interval_by_hand(values: list[float], t: float, low: float = 0.0, high: float = 1.0) -> list[float]:
    center, half = statistics.fmean(values), t * statistics.stdev(values) / len(values) ** 0.5
    return [max(low, center - half), min(high, center + half)]


def wilson_by_hand(successes: int, count: int) -> list[float]:
    z2, share = Z_975**2, successes / count
    center = (share + z2 / (2 * count)) / (1 + z2 / count)
    half = Z_975 * (share * (1 - share) / count + z2 / (4 * count**2)) ** 0.5 / (1 + z2 / count)
    return [center - half, center + half]


def records_of(*prompts: str) -> list[PromptRecord]:
    return [PromptRecord(line=i + 1, messages=[{"role": "user", "content": p}], extra_fields={})
            for i, p in enumerate(prompts)]


def answer(length: int) -> str:
    return "あ" * length


def write_seed_prompts(tmp_path: Path) -> Path:
    path = tmp_path / "seed.jsonl"
    path.write_text(
        json_lines(*({"messages": [{"role": "user", "content": prompt(s, n)}]} for s, n, _, _ in SEED_TABLE)),
        encoding="utf-8",
    )
    return path


def test_comparison_marks_and_totals_from_graded_answers() -> None:
    records = records_of(*(prompt(s, n) for s, n, _, _ in SEED_TABLE))
    comparison = build_comparison(
        records, [answer(base) for *_, base in SEED_TABLE], [answer(tuned) for _, _, tuned, _ in SEED_TABLE]
    )
    # The seed article's marks, column by column.
    assert [row.base.cell("char_count") for row in comparison.rows] == [
        "o 20",
        "x 27",
        "x 25",
        "o 28",
        "o 16",
        "o 15",
        "x 41",
        "x 31",
        "x 35",
        "x 26",
    ]
    assert [row.tuned.cell("char_count") for row in comparison.rows] == [
        "o 17",
        "o 19",
        "o 11",
        "o 21",
        "o 13",
        "o 12",
        "o 27",
        "x 26",
        "o 24",
        "o 11",
    ]
    assert [row.prompt_value("char_limit") for row in comparison.rows] == [n for _, n, _, _ in SEED_TABLE]
    base, tuned = comparison.totals("base"), comparison.totals("tuned")
    assert (base.pass_count, base.count, base.prompts, base.mean_answer_metric) == (4, 10, 10, 26.4)
    assert (tuned.pass_count, tuned.count, tuned.prompts, tuned.mean_answer_metric) == (9, 10, 10, 18.1)


def test_intervals_over_the_seed_table_by_hand() -> None:
    """One answer per prompt: Wilson for the pass rates, t (9 df) for the mean rewards and the paired
    differences, each from the rewards the char-limit rule gives."""
    records = records_of(*(prompt(s, n) for s, n, _, _ in SEED_TABLE))
    comparison = build_comparison(
        records, [answer(base) for *_, base in SEED_TABLE], [answer(tuned) for _, _, tuned, _ in SEED_TABLE]
    )
    base_rewards = [char_limit_reward(n, base) for _, n, _, base in SEED_TABLE]
    tuned_rewards = [char_limit_reward(n, tuned) for _, n, tuned, _ in SEED_TABLE]
    base, tuned, difference = comparison.totals("base"), comparison.totals("tuned"), comparison.difference()
    assert base.mean_reward == pytest.approx(statistics.fmean(base_rewards))
    assert base.mean_reward_ci.as_list() == pytest.approx(t_interval_by_hand(base_rewards, T_975_9_DF), abs=1e-8)
    assert tuned.mean_reward_ci.as_list() == pytest.approx(t_interval_by_hand(tuned_rewards, T_975_9_DF), abs=1e-8)
    assert tuned.mean_reward_ci.high == 1.0  # 0.935 + 0.147 is more than a reward can be
    assert base.pass_rate_ci.as_list() == pytest.approx(wilson_by_hand(4, 10))
    assert tuned.pass_rate_ci.as_list() == pytest.approx(wilson_by_hand(9, 10))
    reward_gains = [t - b for t, b in zip(tuned_rewards, base_rewards, strict=True)]
    assert difference.mean_reward == pytest.approx(statistics.fmean(reward_gains))
    assert difference.mean_reward_ci.as_list() == pytest.approx(
        t_interval_by_hand(reward_gains, T_975_9_DF, -1.0, 1.0), abs=1e-8)
    pass_gains = [int(t <= n) - int(b <= n) for _, n, t, b in SEED_TABLE]  # 0 or +1 per prompt
    assert difference.pass_rate == 0.5
    assert difference.pass_rate_ci.as_list() == pytest.approx(
        t_interval_by_hand(pass_gains, T_975_9_DF, -1.0, 1.0), abs=1e-8)


def test_one_prompt_has_no_interval_and_equal_values_no_false_certainty() -> None:
    one = build_comparison(records_of(prompt("IoTを", 15)), [answer(26)], [answer(11)])
    totals = one.totals("base")
    assert (totals.mean_reward_ci, totals.pass_rate_ci) == (None, None)
    assert (one.difference().mean_reward_ci, one.difference().pass_rate_ci) == (None, None)
    table = comparison_table(one)
    assert "no confidence intervals: one prompt (an interval needs two or more)" in table
    assert "tuned - base (paired over 1 prompt): mean reward +0.867, pass rate +100 points" in table
    assert "[" not in table and "nan" not in table.lower()

    # Every answer passes, twice over two prompts: nothing varies. Two prompts all at 1.0 prove little:
    # Wilson's interval over the prompts, not a zero-width one; the difference (all ties) has none.
    same = build_comparison(records_of(prompt("IoTを", 15), prompt("AIとは何か", 15)), [answer(5)] * 4,
                            [answer(9)] * 4, samples_per_prompt=2)
    totals = same.totals("tuned")
    assert totals.mean_reward_ci == totals.pass_rate_ci == wilson_interval(2, 2)
    assert totals.pass_rate_ci.low < 0.5
    assert same.difference().mean_reward_ci is None and same.difference().pass_rate_ci is None
    assert "[same on every prompt: no interval]" in comparison_table(same)


def test_nova_compare_prints_the_seed_table_and_writes_csv(rftctl, aws, tmp_path: Path) -> None:
    expect_nova_stack(aws)
    expect_parameter(aws, NOVA_REGION, f"/bedrock-rft/{NOVA_STACK}/job/model", NOVA_MODEL_ARN)
    expect_parameter(aws, NOVA_REGION, DEPLOYMENT_PARAMETER, DEPLOYMENT_ARN)
    aws.stub("bedrock", NOVA_REGION).add_response(
        "get_custom_model_deployment", deployment("Active"), {"customModelDeploymentIdentifier": DEPLOYMENT_ARN}
    )
    for subject, limit, _, base in SEED_TABLE:
        expect_converse(aws, NOVA_INFERENCE_PROFILE, prompt(subject, limit), answer(base), temperature=0.0)
    for subject, limit, tuned, _ in SEED_TABLE:
        expect_converse(aws, DEPLOYMENT_ARN, prompt(subject, limit), answer(tuned), temperature=0.0)

    out_csv = tmp_path / "compare.csv"
    result = rftctl(
        "compare", str(write_seed_prompts(tmp_path)), "--stack", NOVA_STACK, "--concurrency", "1", "--csv", str(out_csv)
    )
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0].split() == ["#", "prompt", "limit", "base", "tuned"]
    rows = [line.split() for line in lines[2:12]]
    assert [row[-5:] for row in rows] == [
        [str(limit), "o" if base <= limit else "x", str(base), "o" if tuned <= limit else "x", str(tuned)]
        for _, limit, tuned, base in SEED_TABLE
    ]
    assert lines[13].split() == ["pass", "4/10", "9/10"]
    # Wilson's intervals for 4/10 and 9/10; t intervals (9 df) for the mean rewards.
    assert lines[14].split() == ["pass", "rate", "40%", "[17%,", "69%]", "90%", "[60%,", "98%]"]
    assert lines[15].split() == ["mean", "length", "26.4", "18.1"]
    assert lines[16].split() == ["mean", "reward", "0.591", "[0.330,", "0.851]", "0.935", "[0.788,", "1.000]"]
    assert lines[18] == ("tuned - base (paired over 10 prompts): mean reward +0.344 [+0.094, +0.594], "
                         "pass rate +50 points [+12, +88]")
    assert lines[19] == ("[low, high]: 95% confidence intervals over the prompts (Wilson for the pass rates, "
                         "Student t with 9 degrees of freedom for the rest)")
    assert f"tuned {DEPLOYMENT_ARN}" in result.err
    assert f"written: {out_csv}" in result.err

    with out_csv.open(encoding="utf-8", newline="") as file:
        written = list(csv.DictReader(file))
    assert [
        (r["line"], r["prompt"], r["sample"], r["base_char_limit"], r["base_char_count"], r["base_pass"],
         r["tuned_char_count"], r["tuned_pass"])
        for r in written
    ] == [
        (str(line), prompt(s, n), "1", str(n), str(base), str(int(base <= n)), str(tuned), str(int(tuned <= n)))
        for line, (s, n, tuned, base) in enumerate(SEED_TABLE, start=1)
    ]
    assert written[7]["tuned_answer"] == answer(26)


def test_nova_compare_needs_a_deployment(rftctl, aws, tmp_path: Path) -> None:
    expect_nova_stack(aws)
    expect_parameter(aws, NOVA_REGION, f"/bedrock-rft/{NOVA_STACK}/job/model", NOVA_MODEL_ARN)
    expect_parameter(aws, NOVA_REGION, DEPLOYMENT_PARAMETER, "NONE")
    aws.stub("bedrock", NOVA_REGION).add_response(
        "list_custom_model_deployments", {"modelDeploymentSummaries": []}, {"modelArnEquals": NOVA_MODEL_ARN}
    )
    result = rftctl("compare", str(write_seed_prompts(tmp_path)), "--stack", NOVA_STACK)
    assert result.code == 2
    assert result.err.strip() == (
        f"rftctl: error: the tuned model {NOVA_MODEL_ARN} has no on-demand deployment: run rftctl deploy-model "
        "first (or pass --tuned-model-id)"
    )


def test_compare_can_take_the_prompts_from_the_stack(rftctl, aws) -> None:
    expect_nova_stack(aws)
    body = json_lines({"messages": [{"role": "user", "content": prompt("IoTを", 15)}]})
    aws.stub("s3", NOVA_REGION).add_response(
        "get_object",
        {"Body": streaming(body.encode())},
        {"Bucket": BUCKET, "Key": "training-data/char-limit/validation.jsonl"},
    )
    expect_converse(aws, NOVA_INFERENCE_PROFILE, prompt("IoTを", 15), answer(26), temperature=0.0)
    expect_converse(aws, "my-deployment", prompt("IoTを", 15), answer(11), temperature=0.0)
    result = rftctl("compare", "--from-stack", "--stack", NOVA_STACK, "--tuned-model-id", "my-deployment")
    assert result.code == 0, result.err
    assert result.out.splitlines()[2].split()[-5:] == ["15", "x", "26", "o", "11"]
    assert f"s3://{BUCKET}/training-data/char-limit/validation.jsonl" in result.err


def test_mantle_compare_uses_the_fine_tuned_model_on_the_repo_validation_set(rftctl, aws, mantle_server) -> None:
    records = [json.loads(line) for line in REPO_VALIDATION.read_text(encoding="utf-8").splitlines()[:3]]
    prompts = [record["messages"][-1]["content"] for record in records]
    # A record's limit is its char_limit field, else the one its prompt states.
    limits = [record.get("char_limit") or extract_char_limit(p) for record, p in zip(records, prompts, strict=True)]
    expect_mantle_stack(aws)
    expect_parameter(aws, MANTLE_REGION, f"/bedrock-rft/{MANTLE_STACK}/job/model", MANTLE_TUNED_MODEL)
    mantle_server.chat_answers[MANTLE_MODEL] = {p: answer(n + 5) for p, n in zip(prompts, limits, strict=True)}
    # Reasoning models may think aloud: the grader scores only the answer after </think>.
    mantle_server.chat_answers[MANTLE_TUNED_MODEL] = {
        p: f"<think>{'考' * 200}</think>{answer(n - 1)}" for p, n in zip(prompts, limits, strict=True)
    }
    result = rftctl("compare", "--stack", MANTLE_STACK, "--region", MANTLE_REGION, "--limit", "3")
    assert result.code == 0, result.err
    rows = [line.split()[-5:] for line in result.out.splitlines()[2:5]]
    assert rows == [[str(n), "x", str(n + 5), "o", str(n - 1)] for n in limits]
    assert result.out.splitlines()[6].split() == ["pass", "0/3", "3/3"]
    chats = [call.json() for call in mantle_server.calls("POST", "/chat/completions")]
    assert sorted(body["model"] for body in chats) == sorted([MANTLE_MODEL] * 3 + [MANTLE_TUNED_MODEL] * 3)
    assert {body["temperature"] for body in chats} == {0.0}
    base_messages = [body["messages"] for body in chats if body["model"] == MANTLE_MODEL]
    assert sorted(map(json.dumps, base_messages)) == sorted(json.dumps(record["messages"]) for record in records)
    mantle_server.assert_all_signed()


def test_an_unwritable_csv_path_fails_before_any_model_is_asked(rftctl, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "compare.csv"
    result = rftctl("compare", str(write_seed_prompts(tmp_path)), "--stack", NOVA_STACK, "--csv", str(missing))
    assert result.code == 2
    assert result.err.strip() == f"rftctl: error: --csv {missing}: directory {missing.parent} does not exist"


def test_prompts_may_hold_unicode_line_separators(tmp_path: Path) -> None:
    """U+2028 is valid unescaped inside a JSON string: it must not split the record."""
    text = "AIとは何か\u202830文字以内で説明して"
    path = tmp_path / "prompts.jsonl"
    path.write_text(json_lines({"messages": [{"role": "user", "content": text}]}), encoding="utf-8")
    (record,) = read_prompt_records(path, load_task("char-limit"))
    assert record.prompt == text


# --- several samples per prompt, the JSON document, the options ------------------------------------

# Three prompts, three samples each at temperature 1: the answers' lengths, per model.
K_PROMPTS = [("機械学習を", 20), ("インターネットを", 25), ("IoTを", 15)]
K_BASE = [[20, 25, 30], [27, 24, 26], [15, 15, 15]]
K_TUNED = [[17, 18, 19], [19, 30, 22], [10, 12, 16]]


def write_prompts(tmp_path: Path, prompts: list[tuple[str, int]]) -> Path:
    path = tmp_path / "prompts.jsonl"
    path.write_text(json_lines(*({"messages": [{"role": "user", "content": prompt(s, n)}]} for s, n in prompts)),
                    encoding="utf-8")
    return path


def expect_answers(aws, model_id: str, prompts: list[tuple[str, int]], lengths: list[list[int]],
                   temperature: float) -> None:
    """Converse, in the order one worker asks: every sample of the first prompt, then the next prompt's."""
    for (subject, limit), per_prompt in zip(prompts, lengths, strict=True):
        for length in per_prompt:
            expect_converse(aws, model_id, prompt(subject, limit), answer(length), temperature=temperature)


def test_several_samples_per_prompt_give_counts_means_and_t_intervals(rftctl, aws, tmp_path: Path) -> None:
    expect_nova_stack(aws)
    expect_answers(aws, NOVA_INFERENCE_PROFILE, K_PROMPTS, K_BASE, temperature=1.0)
    expect_answers(aws, "my-deployment", K_PROMPTS, K_TUNED, temperature=1.0)
    out_csv, out_json = tmp_path / "compare.csv", tmp_path / "compare.json"
    result = rftctl(
        "compare", str(write_prompts(tmp_path, K_PROMPTS)), "--stack", NOVA_STACK, "--tuned-model-id",
        "my-deployment", "--samples", "3", "--temperature", "1", "--concurrency", "1", "--csv", str(out_csv),
        "--json-out", str(out_json), utc_now=lambda: CREATED,
    )
    assert result.code == 0, result.err
    assert "warning" not in result.err

    limits = [limit for _, limit in K_PROMPTS]
    base_rewards = [[char_limit_reward(n, length) for length in row] for n, row in zip(limits, K_BASE, strict=True)]
    tuned_rewards = [[char_limit_reward(n, length) for length in row] for n, row in zip(limits, K_TUNED, strict=True)]
    base_means = [statistics.fmean(row) for row in base_rewards]
    tuned_means = [statistics.fmean(row) for row in tuned_rewards]
    base_passes = [sum(length <= n for length in row) for (_, n), row in zip(K_PROMPTS, K_BASE, strict=True)]
    tuned_passes = [sum(length <= n for length in row) for (_, n), row in zip(K_PROMPTS, K_TUNED, strict=True)]
    assert (base_passes, tuned_passes) == ([1, 1, 3], [3, 2, 2])

    lines = result.out.splitlines()
    # A cell: passes of the prompt's three answers and their mean reward.
    assert [line.split()[-4:] for line in lines[2:5]] == [
        [f"{bp}/3", f"{bm:.2f}", f"{tp}/3", f"{tm:.2f}"]
        for bp, bm, tp, tm in zip(base_passes, base_means, tuned_passes, tuned_means, strict=True)
    ]
    assert lines[6].split() == ["pass", "5/9", "7/9"]
    assert "Student t with 2 degrees of freedom" in lines[-1] and "Wilson" not in lines[-1]

    document = json.loads(out_json.read_text(encoding="utf-8"))
    assert (document["kind"], document["version"]) == ("rftctl.compare", 1)
    assert document["settings"] == {"temperature": 1.0, "maxTokens": 512, "samplesPerPrompt": 3}
    assert document["models"] == {"base": {"id": NOVA_INFERENCE_PROFILE}, "tuned": {"id": "my-deployment"}}
    assert (document["stack"], document["region"], document["variant"]) == (NOVA_STACK, NOVA_REGION, "nova")
    assert document["task"]["name"] == "char-limit"
    assert document["promptSource"] == str(tmp_path / "prompts.jsonl")
    assert document["createdAt"] == "2026-12-01T14:00:00+00:00"
    assert document["promptMetric"] == {"name": "char_limit", "label": "limit"}
    assert document["answerMetric"] == {"name": "char_count", "label": "length"}
    base = document["summary"]["base"]
    assert (base["count"], base["prompts"], base["passCount"]) == (9, 3, 5)
    assert base["passRate"] == pytest.approx(5 / 9)
    assert base["meanReward"] == pytest.approx(statistics.fmean(base_means))
    assert base["meanRewardCi95"] == pytest.approx(t_interval_by_hand(base_means, T_975_2_DF), abs=1e-8)
    assert base["passRateCi95"] == pytest.approx(t_interval_by_hand([p / 3 for p in base_passes], T_975_2_DF),
                                                 abs=1e-8)
    assert base["meanAnswerMetric"] == pytest.approx(statistics.fmean(sum(K_BASE, [])))
    gains = [t - b for t, b in zip(tuned_means, base_means, strict=True)]
    difference = document["summary"]["difference"]
    assert difference["meanReward"] == pytest.approx(statistics.fmean(gains))
    assert difference["meanRewardCi95"] == pytest.approx(t_interval_by_hand(gains, T_975_2_DF, -1, 1), abs=1e-8)
    assert difference["passRate"] == pytest.approx((7 - 5) / 9)
    assert document["confidence"]["level"] == 0.95 and "Student t" in document["confidence"]["method"]
    first = document["prompts"][0]
    assert (first["line"], first["prompt"], first["promptMetric"]) == (1, prompt("機械学習を", 20), 20)
    assert [a["answer"] for a in first["base"]["answers"]] == [answer(n) for n in K_BASE[0]]
    assert [a["passed"] for a in first["base"]["answers"]] == [True, False, False]
    assert [a["reward"] for a in first["base"]["answers"]] == pytest.approx(base_rewards[0])
    assert first["base"]["answers"][1]["metrics"]["char_count"] == 25
    assert first["tuned"]["passRate"] == 1.0

    with out_csv.open(encoding="utf-8", newline="") as file:
        written = list(csv.DictReader(file))
    assert [(r["line"], r["sample"], r["base_char_count"], r["tuned_char_count"]) for r in written] == [
        (str(line), str(k + 1), str(K_BASE[line - 1][k]), str(K_TUNED[line - 1][k]))
        for line in (1, 2, 3) for k in range(3)
    ]
    assert written[4]["tuned_answer"] == answer(30) and written[4]["tuned_pass"] == "0"


def test_json_prints_only_the_document(rftctl, aws, tmp_path: Path) -> None:
    expect_nova_stack(aws)
    expect_converse(aws, NOVA_INFERENCE_PROFILE, prompt("IoTを", 15), answer(26), temperature=0.0)
    expect_converse(aws, "my-deployment", prompt("IoTを", 15), answer(11), temperature=0.0)
    result = rftctl("compare", str(write_prompts(tmp_path, [("IoTを", 15)])), "--stack", NOVA_STACK,
                    "--tuned-model-id", "my-deployment", "--json")
    assert result.code == 0, result.err
    document = json.loads(result.out)  # all of stdout is the one document
    assert document["kind"] == "rftctl.compare"
    summary = document["summary"]
    # One prompt: no interval anywhere, null (never NaN) in the document.
    assert [summary[which][key] for which in ("base", "tuned") for key in ("passRateCi95", "meanRewardCi95")] == [
        None] * 4
    assert summary["difference"] == {"meanReward": pytest.approx(1 - char_limit_reward(15, 26)),
                                     "meanRewardCi95": None, "passRate": 1.0, "passRateCi95": None}
    assert "NaN" not in result.out


def test_several_samples_at_temperature_zero_are_warned_about(rftctl, aws, tmp_path: Path) -> None:
    expect_nova_stack(aws)
    expect_answers(aws, NOVA_INFERENCE_PROFILE, [("IoTを", 15)], [[11, 11]], temperature=0.0)
    expect_answers(aws, "my-deployment", [("IoTを", 15)], [[9, 9]], temperature=0.0)
    result = rftctl("compare", str(write_prompts(tmp_path, [("IoTを", 15)])), "--stack", NOVA_STACK,
                    "--tuned-model-id", "my-deployment", "--samples", "2", "--concurrency", "1")
    assert result.code == 0, result.err
    assert ("warning: --samples 2 at --temperature 0: the answers to a prompt will most likely be identical and "
            "add no information") in result.err
    assert result.out.splitlines()[2].split()[-4:] == ["2/2", "1.00", "2/2", "1.00"]


@pytest.mark.parametrize(
    "options,message",
    [
        (["--samples", "0"], "--samples 0: must be from 1 to 64"),
        (["--samples", "65"], "--samples 65: must be from 1 to 64"),
        (["--temperature", "nan"], "--temperature nan: must be a number of at least 0"),
        (["--temperature", "-0.5"], "--temperature -0.5: must be a number of at least 0"),
        (["--max-tokens", "0"], "--concurrency and --max-tokens must be at least 1"),
    ],
)
def test_bad_generation_options_fail_before_any_call(rftctl, tmp_path: Path, options: list[str],
                                                     message: str) -> None:
    # No stub is set: a call to AWS would fail the test differently.
    result = rftctl("compare", str(write_seed_prompts(tmp_path)), "--stack", NOVA_STACK, *options)
    assert result.code == 2
    assert result.err.strip() == f"rftctl: error: {message}"


def test_json_out_is_checked_before_any_model_is_asked(rftctl, tmp_path: Path) -> None:
    prompts = str(write_seed_prompts(tmp_path))
    missing = tmp_path / "no-such-dir" / "compare.json"
    result = rftctl("compare", prompts, "--stack", NOVA_STACK, "--json-out", str(missing))
    assert (result.code, result.err.strip()) == (
        2, f"rftctl: error: --json-out {missing}: directory {missing.parent} does not exist")
    result = rftctl("compare", prompts, "--stack", NOVA_STACK, "--json-out", str(tmp_path))
    assert (result.code, result.err.strip()) == (2, f"rftctl: error: --json-out {tmp_path}: is a directory; "
                                                    "give a file name")
    same = tmp_path / "out"
    result = rftctl("compare", prompts, "--stack", NOVA_STACK, "--json-out", str(same), "--csv", str(same))
    assert result.code == 2 and "--csv and --json-out name the same file" in result.err


def test_the_json_file_is_replaced_whole_or_not_at_all(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "compare.json"
    write_atomically(target, '{"first": 1}\n', "--json-out")
    assert target.read_text() == '{"first": 1}\n'

    def disk_full(descriptor: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(CliError, match="--json-out .*compare.json: cannot write it: No space left"):
        write_atomically(target, '{"second": 2}\n', "--json-out")
    assert target.read_text() == '{"first": 1}\n'
    assert sorted(path.name for path in tmp_path.iterdir()) == ["compare.json"]  # no temporary file left
