"""rftctl metrics: Nova CSVs from S3 and mantle events/checkpoints, tables and the reward PNG."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.image import imread

import rftctl.reward_metrics as reward_metrics
from rftctl.reward_metrics import MetricSeries, build_reward_figure, metrics_from_csv
from tests.scripts.fakes import (
    BUCKET,
    MANTLE_JOB_ID,
    MANTLE_REGION,
    MANTLE_STACK,
    NOVA_JOB_ARN,
    NOVA_REGION,
    NOVA_STACK,
    expect_mantle_stack,
    expect_nova_stack,
    expect_parameter,
    streaming,
)

JOB_PREFIX = "output/model-customization-job-a1b2c3d4e5f6"
# The seed article's per-epoch training reward.
SEED_TRAIN_REWARD = [0.307, 0.419, 0.542, 0.580, 0.603, 0.695, 0.736, 0.728, 0.752, 0.748]
TRAINING_CSV = "epoch,train_reward_mean,train_loss\n" + "".join(
    f"{epoch},{reward},{1 - reward:.3f}\n" for epoch, reward in enumerate(SEED_TRAIN_REWARD)
)
VALIDATION_CSV = "step_number,validation_reward_mean\n10,0.52\n20,0.81\n30,0.933\n"
LOSS_ONLY_CSV = "step,loss\n1,0.9\n"
CSV_FILES = {
    f"{JOB_PREFIX}/training_artifacts/step_wise_training_metrics.csv": TRAINING_CSV,
    f"{JOB_PREFIX}/validation_artifacts/post_fine_tuning_validation/validation/validation_metrics.csv": VALIDATION_CSV,
    f"{JOB_PREFIX}/training_artifacts/loss.csv": LOSS_ONLY_CSV,
}


def line_data(figure) -> dict[str, tuple[str, list[float], list[float]]]:
    """label -> (panel title, xs, ys) of every plotted line."""
    lines = {}
    for ax in figure.axes:
        for line in ax.get_lines():
            lines[line.get_label()] = (ax.get_title(), list(line.get_xdata()), list(line.get_ydata()))
    return lines


def test_csv_columns_are_recognised_by_name() -> None:
    table, series, note = metrics_from_csv("s3://b/x/validation_metrics.csv", VALIDATION_CSV)
    assert note is None
    assert table.columns == ["step_number", "validation_reward_mean"]
    assert [(s.label, s.split, s.x_name, s.xs, s.ys) for s in series] == [
        ("validation_reward_mean", "validation", "step_number", [10.0, 20.0, 30.0], [0.52, 0.81, 0.933]),
    ]
    table, series, note = metrics_from_csv("s3://b/loss.csv", LOSS_ONLY_CSV)
    assert table is None and series == []
    assert note == "skipped s3://b/loss.csv: no reward column (columns: step, loss)"
    # Only the object key decides: a bucket named after validation holds training metrics too.
    _, series, _ = metrics_from_csv("s3://rft-validation-data/output/job/train.csv", TRAINING_CSV)
    assert [(s.label, s.split) for s in series] == [("train_reward_mean", "training")]
    _, series, _ = metrics_from_csv("t.csv", "step,critic/rewards/mean,val_reward\n1,0.2,0.3\n2,,0.4\n")
    assert [(s.label, s.split, s.xs, s.ys) for s in series] == [
        ("critic/rewards/mean", "training", [1.0], [0.2]),
        ("val_reward", "validation", [1.0, 2.0], [0.3, 0.4]),
    ]


def test_reward_figure_plots_exactly_the_given_series() -> None:
    train = MetricSeries("train_reward_mean", "training", "epoch", [0, 1, 2], [0.3, 0.4, 0.55])
    valid = MetricSeries("validation_reward_mean", "validation", "step", [10, 20], [0.5, 0.9])
    figure = build_reward_figure([train, valid], title="job")
    assert line_data(figure) == {
        "train_reward_mean": ("Training reward", [0, 1, 2], [0.3, 0.4, 0.55]),
        "validation_reward_mean": ("Validation reward", [10, 20], [0.5, 0.9]),
    }
    assert [ax.get_xlabel() for ax in figure.axes] == ["epoch", "step"]


@pytest.fixture
def captured_figures(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The figures the metrics command builds, kept for inspection."""
    figures: list[Any] = []

    def build_and_keep(series, title=""):
        figure = build_reward_figure(series, title)
        figures.append(figure)
        return figure

    monkeypatch.setattr(reward_metrics, "build_reward_figure", build_and_keep)
    return figures


def assert_png_is_a_drawing(path: Path) -> None:
    image = imread(path)
    assert image.ndim == 3 and image.shape[0] > 300 and image.shape[1] > 800
    pixels = image[..., :3]
    assert pixels.std() > 0.05, "the PNG is blank"
    # Coloured line pixels, not only black text on white.
    assert (np.abs(pixels[..., 0] - pixels[..., 2]) > 0.3).sum() > 100


def test_nova_metrics_read_every_csv_of_the_job(rftctl, aws, tmp_path: Path, captured_figures) -> None:
    expect_nova_stack(aws)
    expect_parameter(aws, NOVA_REGION, f"/bedrock-rft/{NOVA_STACK}/job/id", NOVA_JOB_ARN)
    other_job = "output/model-customization-job-f6e5d4c3b2a1/training_artifacts/step_wise_training_metrics.csv"
    keys = [*CSV_FILES, other_job, f"{JOB_PREFIX}/manifest.json"]
    s3 = aws.stub("s3", NOVA_REGION)
    s3.add_response(
        "list_objects_v2",
        {"Contents": [{"Key": key, "Size": 100} for key in keys], "IsTruncated": False, "KeyCount": len(keys)},
        {"Bucket": BUCKET, "Prefix": "output/"},
    )
    for key in sorted(CSV_FILES):
        s3.add_response("get_object", {"Body": streaming(CSV_FILES[key].encode())}, {"Bucket": BUCKET, "Key": key})

    png = tmp_path / "reward.png"
    result = rftctl("metrics", "--stack", NOVA_STACK, "--out", str(png))
    assert result.code == 0, result.err
    assert f"== s3://{BUCKET}/{JOB_PREFIX}/training_artifacts/step_wise_training_metrics.csv (10 rows)" in result.out
    assert "epoch  train_reward_mean" in result.out
    assert "    9              0.748" in result.out
    assert "step_number  validation_reward_mean" in result.out
    assert "skipped" in result.err and "loss.csv: no reward column" in result.err
    assert result.out.strip().endswith(f"reward curves: {png} (2 series)")

    assert_png_is_a_drawing(png)
    (figure,) = captured_figures
    assert line_data(figure) == {
        "train_reward_mean": ("Training reward", list(range(10)), SEED_TRAIN_REWARD),
        "validation_reward_mean": ("Validation reward", [10, 20, 30], [0.52, 0.81, 0.933]),
    }


def test_nova_metrics_before_any_csv_exists(rftctl, aws, tmp_path: Path) -> None:
    expect_nova_stack(aws)
    aws.stub("s3", NOVA_REGION).add_response(
        "list_objects_v2", {"IsTruncated": False, "KeyCount": 0}, {"Bucket": BUCKET, "Prefix": "output/"}
    )
    png = tmp_path / "reward.png"
    result = rftctl("metrics", "--stack", NOVA_STACK, "--job", NOVA_JOB_ARN, "--out", str(png))
    assert result.code == 1
    assert "no metrics CSV under s3://rft-data-bucket/output/ yet" in result.err
    assert not png.exists()


def test_metrics_refuses_an_output_path_it_cannot_write(rftctl, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dir" / "reward.png"
    result = rftctl("metrics", "--stack", NOVA_STACK, "--out", str(missing))
    assert result.code == 2
    assert result.err.strip() == f"rftctl: error: --out {missing}: directory {missing.parent} does not exist"


def test_mantle_metrics_from_events_and_checkpoints(
    rftctl, aws, mantle_server, tmp_path: Path, captured_figures
) -> None:
    expect_mantle_stack(aws)
    expect_parameter(aws, MANTLE_REGION, f"/bedrock-rft/{MANTLE_STACK}/job/id", MANTLE_JOB_ID)
    mantle_server.add_job(id=MANTLE_JOB_ID, status="running")
    rewards = {1: 0.21, 2: 0.30, 3: 0.38, 4: 0.44, 5: 0.47}
    for step, reward in rewards.items():
        mantle_server.add_metrics_event(MANTLE_JOB_ID, step, 67, critic_rewards_mean=reward, entropy=1.0)
    mantle_server.add_message_event(MANTLE_JOB_ID, "Checkpoint saved")
    mantle_server.add_checkpoint(MANTLE_JOB_ID, 2, val_reward_mean=0.4)
    mantle_server.add_checkpoint(MANTLE_JOB_ID, 4, val_reward_mean=0.55)
    mantle_server.page_size = 2  # the events come in several pages

    png = tmp_path / "curves.png"
    result = rftctl("metrics", "--stack", MANTLE_STACK, "--region", MANTLE_REGION, "--out", str(png))
    assert result.code == 0, result.err
    assert f"== {MANTLE_JOB_ID} metrics events (5 rows)" in result.out
    assert "step  total_steps  critic_rewards_mean" in result.out
    assert f"== {MANTLE_JOB_ID} checkpoints (2 rows)" in result.out
    assert "ckpt-step-4" in result.out
    event_pages = mantle_server.calls("GET", f"/fine_tuning/jobs/{MANTLE_JOB_ID}/events")
    assert [call.query.get("after") for call in event_pages] == [
        None,
        [f"ftevent-{MANTLE_JOB_ID}-5"],
        [f"ftevent-{MANTLE_JOB_ID}-3"],
    ]
    mantle_server.assert_all_signed()

    assert_png_is_a_drawing(png)
    (figure,) = captured_figures
    assert line_data(figure) == {
        "critic_rewards_mean": ("Training reward", [1, 2, 3, 4, 5], list(rewards.values())),
        "checkpoint val_reward_mean": ("Validation reward", [2, 4], [0.4, 0.55]),
    }
