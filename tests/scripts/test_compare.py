"""rftctl compare: base vs tuned on the same prompts, graded; the seed article's table and totals."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from lambda_reward.runtime.tasks import load_task
from lambda_reward.runtime.tasks.char_limit import extract_char_limit
from rftctl.commands.compare import build_comparison
from rftctl.samples import PromptRecord, read_prompt_records
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


def prompt(subject: str, limit: int) -> str:
    return f"{subject}{limit}文字以内で説明して"


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
    records = [
        PromptRecord(line=i + 1, messages=[{"role": "user", "content": prompt(s, n)}], extra_fields={})
        for i, (s, n, _, _) in enumerate(SEED_TABLE)
    ]
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
    assert (base.pass_count, base.count, base.mean_answer_metric) == (4, 10, 26.4)
    assert (tuned.pass_count, tuned.count, tuned.mean_answer_metric) == (9, 10, 18.1)


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
    assert lines[13].split() == ["pass", "4/10", "(40%)", "9/10", "(90%)"]
    assert lines[14].split() == ["mean", "length", "26.4", "18.1"]
    assert lines[15].split()[:2] == ["mean", "reward"]
    assert f"tuned {DEPLOYMENT_ARN}" in result.err

    with out_csv.open(encoding="utf-8", newline="") as file:
        written = list(csv.DictReader(file))
    assert [
        (r["prompt"], r["base_char_limit"], r["base_char_count"], r["base_pass"], r["tuned_char_count"],
         r["tuned_pass"])
        for r in written
    ] == [
        (prompt(s, n), str(n), str(base), str(int(base <= n)), str(tuned), str(int(tuned <= n)))
        for s, n, tuned, base in SEED_TABLE
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
    assert result.out.splitlines()[6].split()[:3] == ["pass", "0/3", "(0%)"]
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
