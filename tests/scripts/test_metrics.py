"""rftctl metrics: Nova CSVs from S3 and mantle events/checkpoints, tables, the reward PNG, the saved document."""

from __future__ import annotations

import codecs
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from matplotlib.image import imread
from matplotlib.ticker import MaxNLocator

import rftctl.reward_metrics as reward_metrics
from rftctl.reward_metrics import (
    DocumentError,
    MetricSeries,
    build_reward_figure,
    is_reward_mean,
    load_metrics_document,
    load_metrics_file,
    metrics_from_csv,
    smooth,
    smoothing_window,
)
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
# With a std column, as Nova's step-wise metrics have: it is a table column, never a curve.
TRAINING_CSV = "epoch,train_reward_mean,train_reward_std,train_loss\n" + "".join(
    f"{epoch},{reward},0.2,{1 - reward:.3f}\n" for epoch, reward in enumerate(SEED_TRAIN_REWARD)
)
VALIDATION_CSV = "step_number,validation_reward_mean\n10,0.52\n20,0.81\n30,0.933\n"
LOSS_ONLY_CSV = "step,loss\n1,0.9\n"
TRAINING_KEY = f"{JOB_PREFIX}/training_artifacts/step_wise_training_metrics.csv"
CSV_FILES = {
    TRAINING_KEY: TRAINING_CSV,
    f"{JOB_PREFIX}/validation_artifacts/post_fine_tuning_validation/validation/validation_metrics.csv": VALIDATION_CSV,
    f"{JOB_PREFIX}/training_artifacts/loss.csv": LOSS_ONLY_CSV,
}
NOW = datetime(2025, 12, 1, 12, 0, tzinfo=UTC)


def line_data(figure) -> dict[str, tuple[str, list[float], list[float]]]:
    """gid ("raw:<label>" / "smoothed:<label>") -> (panel title, xs, ys) of every plotted line."""
    lines = {}
    for ax in figure.axes:
        for line in ax.get_lines():
            lines[line.get_gid()] = (ax.get_title(), list(line.get_xdata()), list(line.get_ydata()))
    return lines


def legend_texts(figure) -> list[str]:
    return [text.get_text() for ax in figure.axes if ax.get_legend() for text in ax.get_legend().get_texts()]


# --- reading CSVs --------------------------------------------------------------------------------


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


def test_spreads_and_extremes_are_table_columns_not_curves() -> None:
    text = ("step,train_reward_mean,train_reward_std,train_reward_max,critic/rewards/min,rewardStd\n"
            "1,0.4,0.2,0.9,0,0.1\n")
    table, series, note = metrics_from_csv("s3://b/o/train.csv", text)
    assert table.columns == ["step", "train_reward_mean", "train_reward_std", "train_reward_max", "critic/rewards/min",
                             "rewardStd"]
    assert table.rows == [[1.0, 0.4, 0.2, 0.9, 0.0, 0.1]]
    assert [s.label for s in series] == ["train_reward_mean"]
    assert note == ("s3://b/o/train.csv: train_reward_std, train_reward_max, critic/rewards/min, rewardStd in the "
                    "table only (the curves show reward means)")


@pytest.mark.parametrize(("column", "is_mean"), [
    ("train_reward_mean", True), ("critic/rewards/mean", True), ("val_reward", True), ("reward", True),
    ("validation_reward_mean", True), ("train_reward_std", False), ("critic/rewards/max", False),
    ("reward_min", False), ("rewardStd", False), ("eval/reward/p99", False), ("reward_variance", False),
])
def test_which_reward_columns_are_means(column: str, is_mean: bool) -> None:
    assert is_reward_mean(column) is is_mean


def test_a_windows_csv_reads_as_a_linux_one(tmp_path: Path) -> None:
    unix = tmp_path / "unix.csv"
    windows = tmp_path / "windows.csv"
    unix.write_bytes(TRAINING_CSV.encode())
    windows.write_bytes(codecs.BOM_UTF8 + TRAINING_CSV.replace("\n", "\r\n").encode())
    read_unix, read_windows = load_metrics_file(unix), load_metrics_file(windows)
    assert read_windows.metrics.tables[0].columns == ["epoch", "train_reward_mean", "train_reward_std"]
    assert read_windows.metrics.tables[0].rows == read_unix.metrics.tables[0].rows
    assert [(s.label, s.xs, s.ys) for s in read_windows.metrics.series] == [
        ("train_reward_mean", [float(e) for e in range(10)], SEED_TRAIN_REWARD)]


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from("step,reward_mean_std\r\n0.5x\"é\ufeff"), max_size=80))
def test_csv_reading_never_raises(text: str) -> None:
    table, series, note = metrics_from_csv("fuzz.csv", text)
    assert (table is None) == (note is not None and note.startswith("skipped"))
    for curve in series:
        assert len(curve.xs) == len(curve.ys)


# --- smoothing and the figure ----------------------------------------------------------------------


def test_smoothing_is_a_centred_moving_average() -> None:
    assert smooth([0, 0, 3, 0, 0], 3) == [0, 1, 1, 1, 0]
    # The window shrinks at the ends: the first point is the mean of the first two.
    assert smooth([1, 3, 5, 7], 3) == [2, 3, 5, 6]
    assert smooth([0.2, 0.9], 1) == [0.2, 0.9]
    with pytest.raises(ValueError, match="odd"):
        smooth([1, 2], 2)
    assert [smoothing_window(n) for n in (1, 9, 10, 29, 30, 80, 1000)] == [1, 1, 3, 3, 3, 9, 25]


@given(st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=60), st.sampled_from([1, 3, 5, 9, 25]))
def test_smoothing_stays_within_the_data(values: list[float], window: int) -> None:
    smoothed = smooth(values, window)
    assert len(smoothed) == len(values)
    assert all(min(values) - 1e-9 <= value <= max(values) + 1e-9 for value in smoothed)
    assert smooth([values[0]] * len(values), window) == pytest.approx([values[0]] * len(values))


def test_reward_figure_plots_exactly_the_given_series() -> None:
    train = MetricSeries("train_reward_mean", "training", "epoch", list(range(10)), SEED_TRAIN_REWARD)
    valid = MetricSeries("validation_reward_mean", "validation", "step", [20, 10], [0.9, 0.5])  # out of order
    figure = build_reward_figure([train, valid], title="job")
    assert line_data(figure) == {
        "raw:train_reward_mean": ("Training reward", list(range(10)), SEED_TRAIN_REWARD),
        "smoothed:train_reward_mean": ("Training reward", list(range(10)), smooth(SEED_TRAIN_REWARD, 3)),
        "raw:validation_reward_mean": ("Validation reward", [10, 20], [0.5, 0.9]),
    }
    assert legend_texts(figure) == ["train_reward_mean (centred mean of 3)", "validation_reward_mean"]
    assert [ax.get_xlabel() for ax in figure.axes] == ["epoch", "step"]
    # One reward axis for both panels, 0 to 1, and whole-number steps.
    assert [ax.get_ylim() for ax in figure.axes] == [(0.0, 1.0), (0.0, 1.0)]
    # Three steps: matplotlib's default ticks would be 1.00, 1.25, ...
    short = build_reward_figure([MetricSeries("r", "training", "step", [1, 2, 3], [0.1, 0.2, 0.3]),
                                 MetricSeries("v", "validation", "step", [1, 2], [0.1, 0.2])])
    short.canvas.draw()
    for ax in short.axes:
        assert isinstance(ax.xaxis.get_major_locator(), MaxNLocator)
        assert all(float(tick).is_integer() for tick in ax.get_xticks()), ax.get_xticks()
    assert [text.get_text() for text in figure.texts] == ["job"]  # the title, and no out-of-range note


def test_reward_figure_extends_the_axis_for_values_outside_zero_to_one_and_says_so() -> None:
    train = MetricSeries("train_reward_mean", "training", "step", [1, 2, 3], [0.2, 1.4, -0.1])
    figure = build_reward_figure([train])
    assert [ax.get_ylim() for ax in figure.axes] == [(-0.1, 1.4), (-0.1, 1.4)]
    assert [text.get_text() for text in figure.texts] == [
        "some values lie outside [0, 1]: the reward axis runs from -0.1 to 1.4"]


def test_reward_figure_runs_a_mantle_step_axis_to_the_total_steps() -> None:
    train = MetricSeries("critic_rewards_mean", "training", "step", [1, 2, 3, 4, 5], [0.2, 0.3, 0.35, 0.4, 0.42])
    checkpoint = MetricSeries("checkpoint val_reward_mean", "validation", "step", [2, 4], [0.4, 0.55])
    figure = build_reward_figure([train, checkpoint], total_steps=67)
    assert [ax.get_title() for ax in figure.axes] == ["Training reward: step 5 of 67", "Validation reward"]
    assert [ax.get_xlim() for ax in figure.axes] == [(0.0, 67.0), (0.0, 67.0)]


@pytest.fixture
def captured_figures(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The figures the metrics command builds, kept for inspection."""
    figures: list[Any] = []

    def build_and_keep(series, title="", **options):
        figure = build_reward_figure(series, title, **options)
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


# --- the command ---------------------------------------------------------------------------------


def expect_nova_metrics(aws, *, job_parameter: bool = True) -> None:
    expect_nova_stack(aws)
    if job_parameter:
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


def test_nova_metrics_read_every_csv_of_the_job(rftctl, aws, tmp_path: Path, captured_figures) -> None:
    expect_nova_metrics(aws)
    png = tmp_path / "reward.png"
    result = rftctl("metrics", "--stack", NOVA_STACK, "--out", str(png))
    assert result.code == 0, result.err
    assert f"== s3://{BUCKET}/{TRAINING_KEY} (10 rows)" in result.out
    assert "epoch  train_reward_mean  train_reward_std" in result.out
    assert "    9              0.748             0.200" in result.out
    assert "step_number  validation_reward_mean" in result.out
    assert "skipped" in result.err and "loss.csv: no reward column" in result.err
    assert "train_reward_std in the table only" in result.err
    assert result.out.strip().endswith(f"reward curves: {png} (2 series)")

    assert_png_is_a_drawing(png)
    (figure,) = captured_figures
    lines = line_data(figure)
    assert lines["raw:train_reward_mean"] == ("Training reward", list(range(10)), SEED_TRAIN_REWARD)
    assert lines["raw:validation_reward_mean"] == ("Validation reward", [10, 20, 30], [0.52, 0.81, 0.933])
    assert not any("std" in gid for gid in lines)


def test_metrics_json_is_the_document_and_reads_back(rftctl, aws, tmp_path: Path) -> None:
    expect_nova_metrics(aws)
    result = rftctl("metrics", "--stack", NOVA_STACK, "--json", utc_now=lambda: NOW)
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert {key: document[key] for key in ("kind", "version", "stack", "region", "variant", "jobId", "totalSteps")} == {
        "kind": "rftctl.metrics", "version": 1, "stack": NOVA_STACK, "region": NOVA_REGION, "variant": "nova",
        "jobId": NOVA_JOB_ARN, "totalSteps": None}
    assert document["createdAt"] == NOW.isoformat()
    assert [(s["label"], s["split"], s["xName"]) for s in document["series"]] == [
        ("train_reward_mean", "training", "epoch"), ("validation_reward_mean", "validation", "step_number")]
    assert document["tables"][0]["columns"] == ["epoch", "train_reward_mean", "train_reward_std"]
    # --json alone writes no PNG (stdout is the document).
    assert not Path("reward.png").exists()

    saved = tmp_path / "metrics.json"
    saved.write_text(result.out, encoding="utf-8")
    loaded = load_metrics_document(saved)
    assert (loaded.stack, loaded.region, loaded.variant, loaded.job_id) == (NOVA_STACK, NOVA_REGION, "nova",
                                                                            NOVA_JOB_ARN)
    assert [(s.label, s.split, s.x_name, s.xs, s.ys) for s in loaded.metrics.series] == [
        (s["label"], s["split"], s["xName"], s["xs"], s["ys"]) for s in document["series"]]
    assert [t.rows for t in loaded.metrics.tables] == [t["rows"] for t in document["tables"]]


def test_metrics_json_out_writes_the_file_and_keeps_the_tables(rftctl, aws, tmp_path: Path) -> None:
    expect_nova_metrics(aws)
    out, png = tmp_path / "m.json", tmp_path / "r.png"
    result = rftctl("metrics", "--stack", NOVA_STACK, "--json-out", str(out), "--out", str(png))
    assert result.code == 0, result.err
    assert "epoch  train_reward_mean" in result.out
    assert f"metrics document: {out}" in result.err
    assert load_metrics_document(out).metrics.series[0].ys == SEED_TRAIN_REWARD
    assert png.exists()
    assert {p.name for p in tmp_path.iterdir()} == {"m.json", "r.png"}  # no temporary file left behind


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


@pytest.mark.parametrize("flag", ["--out", "--json-out"])
def test_metrics_refuses_an_output_path_it_cannot_write(rftctl, tmp_path: Path, flag: str) -> None:
    missing = tmp_path / "no-such-dir" / "reward.png"
    result = rftctl("metrics", "--stack", NOVA_STACK, flag, str(missing))
    assert result.code == 2
    assert result.err.strip() == f"rftctl: error: {flag} {missing}: directory {missing.parent} does not exist"


def test_mantle_metrics_from_events_and_checkpoints(
    rftctl, aws, mantle_server, tmp_path: Path, captured_figures
) -> None:
    expect_mantle_stack(aws)
    expect_parameter(aws, MANTLE_REGION, f"/bedrock-rft/{MANTLE_STACK}/job/id", MANTLE_JOB_ID)
    mantle_server.add_job(id=MANTLE_JOB_ID, status="running")
    rewards = {1: 0.21, 2: 0.30, 3: 0.38, 4: 0.44, 5: 0.47}
    for step, reward in rewards.items():
        mantle_server.add_metrics_event(MANTLE_JOB_ID, step, 67, critic_rewards_mean=reward, critic_rewards_max=1.0,
                                        entropy=1.0)
    mantle_server.add_message_event(MANTLE_JOB_ID, "Checkpoint saved")
    mantle_server.add_checkpoint(MANTLE_JOB_ID, 2, val_reward_mean=0.4)
    mantle_server.add_checkpoint(MANTLE_JOB_ID, 4, val_reward_mean=0.55)
    mantle_server.page_size = 2  # the events come in several pages

    png = tmp_path / "curves.png"
    result = rftctl("metrics", "--stack", MANTLE_STACK, "--region", MANTLE_REGION, "--out", str(png))
    assert result.code == 0, result.err
    assert f"== {MANTLE_JOB_ID} metrics events (5 rows)" in result.out
    assert "step  total_steps  critic_rewards_mean  critic_rewards_max" in result.out
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
        "raw:critic_rewards_mean": ("Training reward: step 5 of 67", [1, 2, 3, 4, 5], list(rewards.values())),
        "raw:checkpoint val_reward_mean": ("Validation reward", [2, 4], [0.4, 0.55]),
    }
    assert figure.axes[0].get_xlim() == (0.0, 67.0)


# --- the saved document: what a bad file says ------------------------------------------------------


def valid_document() -> dict[str, Any]:
    return {"kind": "rftctl.metrics", "version": 1, "stack": NOVA_STACK, "region": NOVA_REGION, "variant": "nova",
            "jobId": NOVA_JOB_ARN, "createdAt": "2025-12-01T12:00:00+00:00", "totalSteps": None,
            "series": [{"label": "train_reward_mean", "split": "training", "xName": "step", "xs": [1, 2],
                        "ys": [0.3, 0.4]}],
            "tables": [{"source": "a.csv", "columns": ["step", "train_reward_mean"], "rows": [[1, 0.3], [2, 0.4]]}],
            "notes": []}


@pytest.mark.parametrize(("content", "message"), [
    (b"", "not JSON (line 1 column 1: Expecting value); expected rftctl.metrics"),
    (b"step,reward\n1,0.5\n", "not JSON (line 1 column 1: Expecting value); expected rftctl.metrics"),
    (b"[1, 2]", 'not an rftctl JSON document (no "kind"); expected rftctl.metrics'),
    (b'{"kind": "rftctl.compare", "version": 1}', "is an rftctl.compare document, expected rftctl.metrics"),
    (b'{"kind": "rftctl.metrics", "version": 2}', "rftctl.metrics version 2; this rftctl reads version 1"),
    (b'{"kind": "rftctl.metrics", "version": true}', "rftctl.metrics version True; this rftctl reads version 1"),
    (b'{"kind": "rftctl.metrics", "kind": "rftctl.metrics", "version": 1}', "duplicate key 'kind'"),
    (b'{"kind": "rftctl.metrics", "version": 1, "x": NaN}', "NaN is not a JSON number"),
    (b'{"kind": "\x80"}', "not UTF-8 text (byte 10)"),
    (codecs.BOM_UTF16_LE + b"{\x00\x00", "not UTF-16 text (byte 4)"),
])
def test_a_file_that_is_not_a_metrics_document_is_refused_by_name(tmp_path: Path, content: bytes,
                                                                  message: str) -> None:
    path = tmp_path / "saved.json"
    path.write_bytes(content)
    with pytest.raises(DocumentError) as raised:
        load_metrics_document(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert message in str(raised.value)


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d.pop("series"), "series is missing, expected list"),
    (lambda d: d["series"][0].update(ys=[0.3, "0.4"]), "series[0].ys[1] is \"0.4\", expected a number"),
    (lambda d: d["series"][0].update(ys=[0.3]), "series[0].xs has 2 values and ys 1: they must pair up"),
    (lambda d: d["series"][0].update(split="test"), "series[0].split is 'test', expected training or validation"),
    (lambda d: d["series"][0].update(label=3), "series[0].label is int 3, expected str"),
    (lambda d: d["tables"][0]["rows"].append([1]), "tables[0].rows[2] must be a list of 2 cells"),
    (lambda d: d.update(totalSteps=0), "totalSteps is 0, expected a positive number or null"),
    (lambda d: d.update(totalSteps=True), "totalSteps is bool true, expected int"),
])
def test_a_damaged_metrics_document_names_the_field(tmp_path: Path, change, message: str) -> None:
    document = valid_document()
    change(document)
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(DocumentError, match=f"^{re.escape(str(path))}: ") as raised:
        load_metrics_document(path)
    assert message in str(raised.value)


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_a_document_saved_with_a_byte_order_mark_reads(tmp_path: Path, encoding: str) -> None:
    # Windows PowerShell's `rftctl metrics --json > metrics.json` writes UTF-16 with a BOM.
    path = tmp_path / "metrics.json"
    path.write_text(json.dumps(valid_document()).replace("\n", "\r\n"), encoding=encoding)
    assert load_metrics_document(path).metrics.series[0].ys == [0.3, 0.4]


def test_metrics_files_are_read_by_their_suffix_and_missing_ones_named(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match=r"nothing\.json: no such file"):
        load_metrics_file(tmp_path / "nothing.json")
    (tmp_path / "m.txt").write_text("{}")
    with pytest.raises(DocumentError, match=r"m\.txt: metrics are read from an rftctl\.metrics \.json document or"):
        load_metrics_file(tmp_path / "m.txt")
    (tmp_path / "loss.csv").write_text(LOSS_ONLY_CSV)
    with pytest.raises(DocumentError, match=r"loss\.csv: no reward metrics to read: skipped .*no reward column"):
        load_metrics_file(tmp_path / "loss.csv")
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(DocumentError, match=r"dir\.json: is a directory"):
        load_metrics_file(tmp_path / "dir.json")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["series", "tables", "notes", "totalSteps", "stack"]), st.sampled_from([None, 0]), JSON_VALUES)
def test_any_damage_to_a_document_is_a_document_error(tmp_path_factory, top: str, inner: int | None,
                                                      value: Any) -> None:
    document = valid_document()
    if inner is None or not isinstance(document[top], list) or not document[top]:
        document[top] = value
    else:
        document[top][0] = value
    path = tmp_path_factory.mktemp("fuzz") / "metrics.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    try:
        load_metrics_document(path)
    except DocumentError as error:
        assert str(error).startswith(f"{path}: ")
