"""Write docs/examples/run/: the saved data of an illustrative Nova RFT run, for `rftctl report --from`.

    .venv/bin/python scripts/examples/make_example_run.py [--out docs/examples/run] [--screenshot docs/report.png]

Illustrative, not a real run: the reward curves, the grader's CloudWatch metrics and the model answers
are made up (seeded, so every run writes the same bytes). What is real: the prompts (the char-limit
task's validation file), the grader that scored the answers (lambda_reward's grade_batch, the code the
Lambda runs), and the shape of every file (what `rftctl report --save-data`, `metrics --json-out`,
`preflight --json` and `compare --json-out` write).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# lambda_reward from the checkout; rftctl is installed (make install), else from scripts/ (appended, so
# that scripts/datasets/ never shadows a package of that name).
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))
sys.path.append(str(PROJECT_ROOT / "scripts"))

from lambda_reward.runtime.contract import PASS_METRIC  # noqa: E402
from lambda_reward.runtime.grader import grade_batch  # noqa: E402
from lambda_reward.runtime.tasks import load_task  # noqa: E402
from rftctl.console import json_document, json_text  # noqa: E402
from rftctl.grader_metrics import QUERIES, GraderMetrics, GraderSeries, grader_metrics_document  # noqa: E402
from rftctl.reward_metrics import JobMetrics, metrics_from_csv, metrics_payload  # noqa: E402
from rftctl.run_report import JobInfo, RunInfo, TunedModel, run_document  # noqa: E402

NOTE = ("Illustrative example data (scripts/examples/make_example_run.py), not a real run: the rewards, grader "
        "metrics and answers are made up; the prompts are the char-limit validation set and the rewards of the "
        "answers are the real grader's.")
DEFAULT_OUT = PROJECT_ROOT / "docs" / "examples" / "run"
VALIDATION_FILE = "training-data/char-limit/validation.jsonl"

STACK, REGION, VARIANT = "BedrockRft-Nova2Lite", "us-east-1", "nova"
ACCOUNT = "123456789012"
BASE_MODEL = "amazon.nova-2-lite-v1:0:256k"
INFERENCE_PROFILE = "us.amazon.nova-2-lite-v1:0"
JOB_SUFFIX = "a1b2c3d4e5f6"
JOB_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-customization-job/{BASE_MODEL}/{JOB_SUFFIX}"
JOB_NAME = "bedrock-rft-nova2lite-1a2b3c4d-0001"
MODEL_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model/{BASE_MODEL}/0a1b2c3d4e5f"
DEPLOYMENT_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:custom-model-deployment/9z8y7x6w5v4u"
GRADER_FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{STACK}-Grader"
BUCKET = "bedrock-rft-nova2lite-trainingdata-example"
HYPER_PARAMETERS = {"epochCount": 10, "trainingSamplePerPrompt": 8}
# Not a synthesized fingerprint (that changes with the code): a fixed, recognisable stand-in.
FINGERPRINT = hashlib.sha256(b"docs/examples/run: illustrative Nova RFT run").hexdigest()

CREATED = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
TRAINING_STARTS = CREATED + timedelta(minutes=25)  # validation and data processing first
STEPS, STEPS_PER_EPOCH, MINUTES_PER_STEP = 80, 8, 2.5
ENDED = TRAINING_STARTS + timedelta(minutes=STEPS * MINUTES_PER_STEP + 15)
VALIDATE_EVERY = 10

# Per validation prompt, an answer within the limit and one over it (made up: what a model might say).
ANSWERS: Sequence[tuple[str, str]] = (
    ("フランス革命後に皇帝となった軍人。ナポレオン法典を定め、欧州の大半を征服した。",
     "フランス革命後に皇帝となった軍人。ナポレオン法典を定め、欧州の大半を征服した。しかしロシア遠征に失敗して退位し、"
     "最後はセントヘレナ島に流された。"),
    ("直角三角形で、斜辺の二乗は他の二辺の二乗の和に等しいという定理。",
     "直角三角形において、斜辺の長さの二乗は残りの二辺それぞれの長さの二乗を足した和に等しくなるという幾何学の基本定理です。"),
    ("A guard that filters network traffic.",
     "A firewall is a security system that monitors and filters incoming and outgoing network traffic."),
    ("3776メートルです。", "富士山の高さは約3776メートルです。"),
    ("梅干し、鮭、昆布、ツナマヨ。", "梅干し、鮭、昆布、おかか、ツナマヨネーズ、明太子などが定番です。"),
    ("能は面をつけ歌と舞で悲劇や幽玄の世界を描く音楽劇、狂言は面をほぼ使わず台詞としぐさで日常の笑いを描く喜劇です。",
     "能は面をつけ歌と舞で悲劇や幽玄の世界を描く音楽劇、狂言は面をほぼ使わず台詞としぐさで日常の笑いを描く喜劇です。"
     "どちらも室町時代に猿楽から発展し、同じ舞台で交互に上演されることが多く、あわせて能楽と呼ばれています。"),
    ("自社の商品や企業の価値・個性を明確にし、顧客に一貫して伝えることで信頼と選ばれる理由を築く長期的な計画です。",
     "自社の商品や企業の価値・個性を明確にし、顧客に一貫して伝えることで信頼と選ばれる理由を築く長期的な計画です。"
     "ロゴやデザイン、広告の表現、接客の品質、価格設定までを統一し、競合との差別化を図ります。"),
    ("石炭や石油などの化石燃料を燃やして出る二酸化炭素など、温室効果ガスの増加です。",
     "石炭や石油などの化石燃料を燃やして出る二酸化炭素など、温室効果ガスの増加です。森林伐採による吸収源の減少や、"
     "家畜や水田から出るメタンも大きな原因とされています。"),
    ("油を使わずヘルシーで、栄養や旨味が逃げにくい。",
     "油を使わないのでヘルシーで、食材の栄養や旨味が逃げにくく、しっとりと柔らかく仕上がる点です。"),
    ("Mount Everest.", "Mount Everest, at 8,849 meters tall."),
    ("地下のマグマが周りの岩より軽いため上昇し、ガスの圧力が高まって地表の割れ目から噴き出すことで噴火が起きます。",
     "地下のマグマが周りの岩より軽いため上昇し、ガスの圧力が高まって地表の割れ目から噴き出すことで噴火が起きます。"
     "プレートの沈み込みや地殻の割れ目がマグマの通り道となり、溜まったガスが一気に膨張します。"),
    ("OSやソフトを常に最新に保ち、推測されにくいパスワードと二段階認証を使い、怪しいメールのリンクや添付ファイルを開かず、"
     "大切なデータは定期的にバックアップすることです。",
     "OSやソフトを常に最新に保ち、推測されにくいパスワードと二段階認証を使い、怪しいメールのリンクや添付ファイルを開かず、"
     "大切なデータは定期的にバックアップすることです。また公共のWi-Fiでは重要な通信を避け、セキュリティソフトを導入し、"
     "家族や職場でも対策を共有しておくと安心です。"),
    ("収入と支出の流れが見えて無駄遣いに気づけ、貯金の目標を立てやすくなります。",
     "収入と支出の流れが見えて無駄遣いに気づけ、貯金の目標を立てやすくなります。固定費の見直しや将来の資金計画にも役立ち、"
     "お金の不安を減らして家族で話し合うきっかけにもなります。"),
    ("球を打ち合い、相手と交互に返し続けること。",
     "ボールを相手のコートに打ち返し、それを互いに交互に続けて得点が決まるまで打ち合うことです。"),
    ("A 14-line poem, usually in iambic pentameter.",
     "A sonnet is a fourteen-line lyric poem, usually in iambic pentameter with a set rhyme scheme."),
    ("The total value of goods and services produced in a country in a year.",
     "GDP measures the total market value of all final goods and services produced within a country's borders "
     "in a given period."),
    ("ネットで文字やファイルを送る手紙。",
     "インターネットを通じて文字や画像、ファイルなどを相手に送受信できる仕組みです。"),
    ("センサーで障害物や段差を検知し、部屋の形を把握しながら自走してごみを吸い取る。",
     "センサーで障害物や段差を検知し、部屋の形を把握しながら自走してごみを吸い取ります。掃除が終わったり電池が減ったりすると、"
     "自分で充電台に戻って次に備えます。"),
    ("戦国時代から江戸時代に、大名の城を中心に武家屋敷や町人の町が広がってできた都市。",
     "戦国時代から江戸時代に、大名の城を中心に武家屋敷や町人の町が広がってできた都市です。現在の金沢や松本、彦根などが代表例で、"
     "古い町並みや道の形が今も残っています。"),
    ("個人や企業が持つ車や部屋、スキルなどの使っていない資産を、インターネットを通じて他の人と貸し借りし共有する経済の仕組みです。",
     "個人や企業が持つ車や部屋、スキルなどの使っていない資産を、インターネットを通じて他の人と貸し借りし共有する経済の仕組みです。"
     "カーシェアや民泊、家事代行が代表例で、資源の有効活用や収入源の多様化が期待される一方、安全性や法規制の整備が課題です。"),
)


def iso(time: datetime) -> str:
    return time.isoformat()


# --- the run and its reward curves ---------------------------------------------------------------


def reward_at(step: float, start: float, gain: float, pace: float) -> float:
    return start + gain * (1 - math.exp(-step / pace))


def training_csv(rng: random.Random) -> str:
    lines = ["step,epoch,train_reward_mean,train_reward_std,train_reward_max"]
    for step in range(1, STEPS + 1):
        mean = min(1.0, max(0.0, reward_at(step, 0.33, 0.48, 24) + rng.gauss(0, 0.035)))
        std = max(0.05, 0.32 - 0.12 * step / STEPS + rng.gauss(0, 0.015))
        lines.append(f"{step},{(step - 1) // STEPS_PER_EPOCH},{mean:.4f},{std:.4f},{min(1.0, mean + 2 * std):.4f}")
    return "\n".join(lines) + "\n"


def validation_csv(rng: random.Random) -> str:
    lines = ["step_number,validation_reward_mean"]
    for step in range(VALIDATE_EVERY, STEPS + 1, VALIDATE_EVERY):
        lines.append(f"{step},{reward_at(step, 0.31, 0.45, 26) + rng.gauss(0, 0.012):.4f}")
    return "\n".join(lines) + "\n"


def metrics_document(rng: random.Random) -> dict[str, Any]:
    prefix = f"s3://{BUCKET}/output/model-customization-job-{JOB_SUFFIX}"
    metrics = JobMetrics()
    for source, text in ((f"{prefix}/training_artifacts/step_wise_training_metrics.csv", training_csv(rng)),
                         (f"{prefix}/validation_artifacts/post_fine_tuning_validation/validation/validation_metrics.csv",
                          validation_csv(rng))):
        table, series, note = metrics_from_csv(source, text)
        assert table is not None, note
        metrics.tables.append(table)
        metrics.series += series
        if note:
            metrics.notes.append(note)
    payload = metrics_payload(metrics, stack=None, job_id=JOB_ARN, created_at=iso(ENDED + timedelta(minutes=30)))
    payload.update(stack=STACK, region=REGION, variant=VARIANT)
    return json_document("metrics", 1, payload)


def run_info(task_spec: dict[str, Any]) -> RunInfo:
    return RunInfo(
        stack=STACK, region=REGION, variant=VARIANT, base_model=BASE_MODEL, task=task_spec,
        hyper_parameters=HYPER_PARAMETERS, fingerprint=FINGERPRINT,
        job=JobInfo(JOB_ARN, JOB_NAME, "Completed", iso(CREATED), iso(ENDED)),
        tuned_model=TunedModel(DEPLOYMENT_ARN, MODEL_ARN),
        grader_function_arn=GRADER_FUNCTION, grader_version_arn=f"{GRADER_FUNCTION}:7",
        grader_service="bedrockrft-nova2lite-reward",
        created_at=iso(ENDED + timedelta(minutes=30)), note=NOTE,
    )


# --- the grader's CloudWatch metrics ---------------------------------------------------------------


def grader_metrics(rng: random.Random) -> GraderMetrics:
    """Per minute: the grader's calls during each step's rollouts and each validation pass."""
    calls: dict[datetime, list[tuple[int, float, float]]] = {}  # minute -> [(samples, batch mean, ms)]

    def call(at: datetime, samples: int, mean: float, duration_ms: float) -> None:
        minute = at.replace(second=0, microsecond=0)
        calls.setdefault(minute, []).append((samples, min(1.0, max(0.0, mean)), duration_ms))

    for step in range(1, STEPS + 1):
        step_end = TRAINING_STARTS + timedelta(minutes=step * MINUTES_PER_STEP)
        for _ in range(8):  # a step's 128 rollouts, graded 16 at a time
            at = step_end - timedelta(seconds=rng.uniform(5, 60))
            call(at, 16, reward_at(step, 0.33, 0.48, 24) + rng.gauss(0, 0.08), rng.lognormvariate(math.log(38), 0.35))
        if step % VALIDATE_EVERY == 0:
            for _ in range(2):  # 20 validation prompts
                call(step_end + timedelta(seconds=rng.uniform(20, 50)), 10, reward_at(step, 0.31, 0.45, 26)
                     + rng.gauss(0, 0.05), rng.lognormvariate(math.log(36), 0.3))
    first = min(calls)
    calls[first][0] = (*calls[first][0][:2], 910.0)  # the cold start

    series = {query.id: GraderSeries(query.id, query.label, query.stat, query.unit) for query in QUERIES}
    error_minute = sorted(calls)[len(calls) // 3]
    for minute in sorted(calls):
        batches = calls[minute]
        samples = sum(n for n, _, _ in batches)
        passed = sum(sum(rng.random() < min(1.0, mean * 0.9) for _ in range(n)) for n, mean, _ in batches)
        durations = sorted(ms for _, _, ms in batches)
        values = {
            "invocations": len(batches),
            "errors": 1 if minute == error_minute else 0,
            "throttles": 0,
            "duration_p50": round(durations[len(durations) // 2], 1),
            "duration_p99": round(durations[-1] * 1.25, 1),
            "samples_scored": samples,
            "passed_samples": passed,
            "malformed_samples": 1 if rng.random() < 0.03 else 0,
            "flagged_samples": sum(rng.random() < 0.01 for _ in range(samples)),
            "invalid_events": 0,
            "mean_reward": round(sum(mean for _, mean, _ in batches) / len(batches), 4),
        }
        for series_id, value in values.items():
            series[series_id].timestamps.append(minute)
            series[series_id].values.append(float(value))
    return GraderMetrics(
        service="bedrockrft-nova2lite-reward", function_name=f"{STACK}-Grader", start=CREATED, end=ENDED,
        period_seconds=60, series=list(series.values()),
    )


# --- preflight and compare: the real grader on made-up answers -----------------------------------------


def prompts() -> list[tuple[int, dict[str, Any]]]:
    lines = (PROJECT_ROOT / VALIDATION_FILE).read_text(encoding="utf-8").splitlines()
    records = [(number, json.loads(line)) for number, line in enumerate(lines, 1) if line.strip()]
    if len(records) != len(ANSWERS):
        raise SystemExit(f"{VALIDATION_FILE} has {len(records)} prompts and this script {len(ANSWERS)} answer pairs")
    return records


def graded(task: Any, record: dict[str, Any], answers: Sequence[str]) -> list[dict[str, Any]]:
    samples = [{"id": index, "messages": [*record["messages"], {"role": "assistant", "content": answer}],
                **{key: value for key, value in record.items() if key != "messages"}}
               for index, answer in enumerate(answers)]
    results = []
    for answer, result in zip(answers, grade_batch(samples, task), strict=True):
        metrics = {metric["name"]: metric["value"] for metric in result["metrics_list"]}
        results.append({"answer": answer, "reward": result["aggregate_reward_score"],
                        "passed": metrics.get(PASS_METRIC) == 1.0,
                        "metrics": {k: v for k, v in metrics.items() if k != PASS_METRIC}})
    return results


def pick(rng: random.Random, index: int, fit_chance: float) -> str:
    fit, long = ANSWERS[index]
    return fit if rng.random() < fit_chance else long


def wilson(passes: int, count: int, z: float = 1.959964) -> list[float]:
    if count == 0:
        return [0.0, 1.0]
    rate = passes / count
    centre = (rate + z * z / (2 * count)) / (1 + z * z / count)
    half = z * math.sqrt(rate * (1 - rate) / count + z * z / (4 * count * count)) / (1 + z * z / count)
    return [round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)]


def bootstrap(rng: random.Random, values: Sequence[float], resamples: int = 4000) -> list[float]:
    means = sorted(sum(rng.choice(values) for _ in values) / len(values) for _ in range(resamples))
    return [round(means[int(0.025 * resamples)], 4), round(means[int(0.975 * resamples) - 1], 4)]


def preflight_document(task: Any, rng: random.Random) -> dict[str, Any]:
    rows, rewards, passes = [], [], []
    for index, (line, record) in enumerate(prompts()):
        results = graded(task, record, [pick(rng, index, 0.4) for _ in range(4)])
        prompt_rewards = [r["reward"] for r in results]
        rows.append({"line": line, "prompt": record["messages"][-1]["content"], "promptMetric": record["char_limit"],
                     "rewards": prompt_rewards, "passes": [r["passed"] for r in results],
                     "answerMetrics": [r["metrics"].get("char_count") for r in results],
                     "uniform": len(set(prompt_rewards)) == 1})
        rewards += prompt_rewards
        passes += [r["passed"] for r in results]
    pass_rate = sum(passes) / len(passes)
    return json_document("preflight", 1, {
        "stack": STACK, "region": REGION, "variant": VARIANT, "task": task.spec, "promptSource": VALIDATION_FILE,
        "createdAt": iso(CREATED - timedelta(days=1)), "model": {"id": INFERENCE_PROFILE},
        "settings": {"temperature": 1.0, "maxTokens": 512, "samplesPerPrompt": 4, "unnecessaryAbove": 0.95,
                     "sftBelow": 0.05},
        "promptMetric": {"name": "char_limit", "label": "limit"}, "answerMetric": {"name": "char_count",
                                                                                   "label": "chars"},
        "summary": {"samples": len(rewards), "prompts": len(rows), "meanReward": round(sum(rewards) / len(rewards), 4),
                    "passRate": round(pass_rate, 4),
                    "sameRewardShare": round(sum(row["uniform"] for row in rows) / len(rows), 4),
                    "verdict": "rft-fit",
                    "verdictText": f"RFT is a good fit: the base model passes {pass_rate:.0%}, so GRPO has both "
                                   "successes and failures to learn from."},
        "prompts": rows,
    })


def side_summary(results: Sequence[dict[str, Any]], prompt_count: int, rng: random.Random) -> dict[str, Any]:
    rewards = [r["reward"] for r in results]
    passed = sum(r["passed"] for r in results)
    return {"count": len(results), "prompts": prompt_count, "passCount": passed,
            "passRate": round(passed / len(results), 4), "passRateCi95": wilson(passed, len(results)),
            "meanReward": round(sum(rewards) / len(rewards), 4), "meanRewardCi95": bootstrap(rng, rewards),
            "meanAnswerMetric": round(sum(r["metrics"]["char_count"] for r in results) / len(results), 2)}


def compare_document(task: Any, rng: random.Random) -> dict[str, Any]:
    rows, base_all, tuned_all = [], [], []
    for index, (line, record) in enumerate(prompts()):
        base = graded(task, record, [pick(rng, index, 0.4)])
        tuned = graded(task, record, [pick(rng, index, 0.92)])
        base_all += base
        tuned_all += tuned
        rows.append({"line": line, "prompt": record["messages"][-1]["content"], "promptMetric": record["char_limit"],
                     **{name: {"meanReward": results[0]["reward"], "passRate": float(results[0]["passed"]),
                               "answers": results} for name, results in (("base", base), ("tuned", tuned))}})
    differences = [t["reward"] - b["reward"] for b, t in zip(base_all, tuned_all, strict=True)]
    pass_differences = [float(t["passed"]) - float(b["passed"]) for b, t in zip(base_all, tuned_all, strict=True)]
    return json_document("compare", 1, {
        "stack": STACK, "region": REGION, "variant": VARIANT, "task": task.spec, "promptSource": VALIDATION_FILE,
        "createdAt": iso(ENDED + timedelta(hours=1)),
        "settings": {"temperature": 0.0, "maxTokens": 512, "samplesPerPrompt": 1},
        "promptMetric": {"name": "char_limit", "label": "limit"}, "answerMetric": {"name": "char_count",
                                                                                   "label": "chars"},
        "models": {"base": {"id": INFERENCE_PROFILE}, "tuned": {"id": DEPLOYMENT_ARN}},
        "summary": {
            "base": side_summary(base_all, len(rows), rng),
            "tuned": side_summary(tuned_all, len(rows), rng),
            "difference": {"meanReward": round(sum(differences) / len(differences), 4),
                           "meanRewardCi95": bootstrap(rng, differences),
                           "passRate": round(sum(pass_differences) / len(pass_differences), 4),
                           "passRateCi95": bootstrap(rng, pass_differences)},
        },
        "confidence": {"level": 0.95, "method": "Wilson score intervals for the pass rates; percentile bootstrap "
                                                "over prompts (4,000 resamples, paired for the differences) for "
                                                "the mean rewards and the differences"},
        "prompts": rows,
    })


def documents() -> dict[str, dict[str, Any]]:
    """Every file of the example run, by name: the same bytes on every call."""
    task = load_task(None)
    return {
        "run.json": run_document(run_info(task.spec)),
        "metrics.json": metrics_document(random.Random(1)),
        "grader-metrics.json": grader_metrics_document(grader_metrics(random.Random(2)), stack=STACK, region=REGION,
                                                       variant=VARIANT, job_id=JOB_ARN,
                                                       created_at=iso(ENDED + timedelta(minutes=30))),
        "preflight.json": preflight_document(task, random.Random(3)),
        "compare.json": compare_document(task, random.Random(4)),
    }


# The docs' screenshot: the top of the page (headline, run, reward curves, grader) at 1280 px, scaled down.
SCREENSHOT_WINDOW = (1280, 2700)
SCREENSHOT_WIDTH = 960


def screenshot(run_dir: Path, png: Path) -> None:
    """Render the report of ``run_dir`` and photograph it with headless Chromium (Debian package chromium)."""
    import shutil
    import subprocess
    import tempfile

    from PIL import Image  # matplotlib's own dependency

    from rftctl.cli import main as rftctl

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("--screenshot needs chromium (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as work:
        page, raw = Path(work) / "report.html", Path(work) / "raw.png"
        if rftctl(["report", "--from", str(run_dir), "--out", str(page)]) != 0:
            raise SystemExit("rftctl report failed")
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--user-data-dir={Path(work) / 'profile'}", "--window-size={},{}".format(*SCREENSHOT_WINDOW),
                        f"--screenshot={raw}", page.as_uri()], check=True, timeout=60, cwd=work,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with Image.open(raw) as image:
            height = round(image.height * SCREENSHOT_WIDTH / image.width)
            scaled = image.convert("RGB").resize((SCREENSHOT_WIDTH, height), Image.Resampling.LANCZOS)
            # 256 colours are plenty for text and charts, and a third of the bytes.
            scaled.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(png, optimize=True)
    print(f"wrote {png} ({png.stat().st_size // 1024} KB)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"directory to write (default {DEFAULT_OUT})")
    parser.add_argument("--screenshot", type=Path, metavar="PNG",
                        help="also photograph the example's report with headless Chromium (docs/report.png)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, document in documents().items():
        (args.out / name).write_text(json_text(document) + "\n", encoding="utf-8")
        print(f"wrote {args.out / name}")
    if args.screenshot:
        screenshot(args.out, args.screenshot)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
