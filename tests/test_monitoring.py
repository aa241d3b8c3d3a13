"""ftlab.monitoring on crafted result files, events and checkpoints (no sandbox needed)."""
from __future__ import annotations

import base64
import re
from types import SimpleNamespace

import matplotlib
import pandas as pd
import pytest

from ftlab import monitoring

matplotlib.use("Agg")

CSV = """step,train_loss,train_accuracy,valid_loss,valid_mean_token_accuracy
1,2.0,0.40,,
2,1.8,0.45,1.9,0.42
3,1.6,0.50,,
4,1.4,0.55,1.5,0.52
"""


def event(i, step=None, kind="metrics", **metrics):
    data = {"step": step, "total_steps": 10, **metrics} if kind == "metrics" else {}
    return SimpleNamespace(id=f"ftevent-{i}", type=kind, data=data, message="m", level="info",
                           created_at=1_700_000_000 + i)


def curve(train, valid, every=1):
    """A frame like metrics_frame() gives: valid_loss present every `every` steps."""
    frame = pd.DataFrame({"train_loss": train}, index=pd.Index(range(1, len(train) + 1), name="step"))
    frame["valid_loss"] = [v if (i + 1) % every == 0 else None for i, v in enumerate(valid)]
    return frame


def overfit_curve(n=40, turn=15):
    train = [2.0 * 0.93 ** i for i in range(n)]
    valid = [2.0 * 0.93 ** i if i < turn else 2.0 * 0.93 ** turn * (1 + 0.04 * (i - turn))
             for i in range(n)]
    return curve(train, valid)


def test_plain_and_base64_csv_give_the_same_frame():
    plain = monitoring.read_result_csv(CSV.encode())
    encoded = monitoring.read_result_csv(base64.b64encode(CSV.encode()))
    pd.testing.assert_frame_equal(plain, encoded)
    assert list(plain.index) == [1, 2, 3, 4]
    assert "train_mean_token_accuracy" in plain.columns  # renamed from train_accuracy
    assert plain.loc[4, "valid_loss"] == 1.5 and pd.isna(plain.loc[3, "valid_loss"])


def test_read_result_file_decodes_what_the_server_sends():
    class Files:
        def __init__(self, body):
            self.body = body

        def content(self, file_id):
            assert file_id == "file-r"
            return type("Response", (), {"content": self.body})()

    for body in (base64.b64encode(CSV.encode()), CSV.encode()):
        client = type("Client", (), {"files": Files(body)})()
        assert monitoring.read_result_file(client, "file-r") == CSV
    with pytest.raises(ValueError, match="CSV"):
        monitoring.read_result_file(type("Client", (), {"files": Files(b"%%%")})(), "file-r")


def test_garbage_result_file_is_a_clear_error():
    with pytest.raises(ValueError, match="CSV"):
        monitoring.read_result_csv(b"\xff\xfe not a csv at all")


def test_events_frame_dedupes_sorts_and_skips_message_events():
    events = [event(3, 2, train_loss=1.5), event(1, 1, train_loss=2.0), event(2, kind="message"),
              event(4, 2, train_loss=1.5)]
    frame = monitoring.events_frame(events)
    assert list(frame.index) == [1, 2]
    assert "total_steps" not in frame.columns
    assert frame.loc[2, "train_loss"] == 1.5


def test_combine_prefers_csv_and_fills_from_events():
    csv = monitoring.read_result_csv(CSV)
    events = monitoring.events_frame([event(1, 4, train_loss=9.9, full_valid_loss=1.45),
                                      event(2, 5, train_loss=1.2)])
    frame = monitoring.combine(csv, events)
    assert list(frame.index) == [1, 2, 3, 4, 5]
    assert frame.loc[4, "train_loss"] == 1.4      # CSV wins
    assert frame.loc[4, "full_valid_loss"] == 1.45  # only in events
    assert frame.loc[5, "train_loss"] == 1.2
    assert list(frame.columns[:3]) == ["train_loss", "train_mean_token_accuracy", "valid_loss"]


def test_combine_of_nothing_is_an_empty_frame():
    assert monitoring.combine(None, monitoring.events_frame([])).empty


def test_smoothing_keeps_first_point_and_lags_jumps():
    series = pd.Series([0.0, 10.0, 10.0], index=[1, 2, 3])
    smoothed = monitoring.smooth(series, 0.5)
    assert list(smoothed) == [0.0, 5.0, 7.5]
    assert list(monitoring.smooth(series, 0)) == [0.0, 10.0, 10.0]


def test_overfitting_detected_with_its_start_step():
    check = monitoring.check_overfitting(overfit_curve(turn=15), smoothing=0)
    assert check.detected and check.train_falling
    assert check.start_step == 16  # step = index + 1
    assert check.final_valid_loss > check.best_valid_loss


def test_overfitting_detected_on_sparse_noisy_validation():
    frame = overfit_curve(n=60, turn=25)
    frame["valid_loss"] = [v * (1.03 if i % 2 else 0.97) if i % 3 == 0 else None
                           for i, v in enumerate(frame["valid_loss"])]
    check = monitoring.check_overfitting(frame)
    assert check.detected
    assert 20 <= check.start_step <= 40


def test_no_overfitting_when_both_losses_fall():
    train = [2.0 * 0.95 ** i for i in range(30)]
    check = monitoring.check_overfitting(curve(train, [t + 0.1 for t in train]))
    assert not check.detected and check.start_step is None


def test_rising_validation_without_falling_training_is_not_overfitting():
    flat = [1.0] * 30
    check = monitoring.check_overfitting(curve(flat, [1.0 + 0.05 * i for i in range(30)]),
                                         smoothing=0)
    assert not check.detected and not check.train_falling


def test_full_validation_points_are_preferred():
    frame = overfit_curve(n=30, turn=29)  # per-step validation still falling
    frame["full_valid_loss"] = None
    frame.loc[10, "full_valid_loss"], frame.loc[20, "full_valid_loss"] = 1.0, 0.8
    frame.loc[30, "full_valid_loss"] = 1.2
    check = monitoring.check_overfitting(frame)
    assert check.detected and check.start_step == 20


def checkpoints():
    return pd.DataFrame({"step": [10, 20, 30], "checkpoint": ["ft:a:ckpt-step-10",
                         "ft:a:ckpt-step-20", "ft:a:ckpt-step-30"],
                         "valid_loss": [1.0, 0.7, 0.9], "full_valid_loss": [None, None, None]})


def test_best_checkpoint_by_validation_loss():
    assert monitoring.best_checkpoint(checkpoints())["step"] == 20
    with_full = checkpoints().assign(full_valid_loss=[0.5, 0.6, 0.7])
    assert monitoring.best_checkpoint(with_full)["step"] == 10
    assert monitoring.best_checkpoint(checkpoints().assign(valid_loss=None)) is None


def test_checkpoints_frame_from_sdk_like_objects():
    ckpt = lambda step, loss: SimpleNamespace(  # noqa: E731
        step_number=step, fine_tuned_model_checkpoint=f"ft:x:ckpt-step-{step}", id=f"ftckpt_{step}",
        metrics=SimpleNamespace(train_loss=loss, valid_loss=loss + 0.1))
    client = SimpleNamespace(fine_tuning=SimpleNamespace(jobs=SimpleNamespace(
        checkpoints=SimpleNamespace(list=lambda job_id, limit: [ckpt(20, 0.5), ckpt(10, 0.9)]))))
    frame = monitoring.checkpoints_frame(client, "ftjob-1")
    assert list(frame["step"]) == [10, 20]
    assert frame.loc[1, "valid_loss"] == pytest.approx(0.6)
    assert pd.isna(frame.loc[0, "full_valid_loss"])


def test_diagnosis_names_the_step_and_what_to_do():
    text = monitoring.diagnose(overfit_curve(n=30, turn=15), checkpoints())
    assert "Overfitting" in text and "passo" in text
    assert "ckpt-step-20" in text and "n_epochs=" in text


def test_diagnosis_of_a_good_run_and_of_no_validation(monkeypatch):
    train = [2.0 * 0.95 ** i for i in range(30)]
    assert "Nessun overfitting" in monitoring.diagnose(curve(train, train))
    no_valid = curve(train, [None] * 30)
    assert "validazione" in monitoring.diagnose(no_valid)
    assert "nessuna metrica" in monitoring.diagnose(pd.DataFrame()).lower()
    monkeypatch.setenv("FTLAB_LANG", "en")
    assert "No overfitting" in monitoring.diagnose(curve(train, train))


def test_plots_draw_raw_and_smoothed_lines():
    frame = overfit_curve()
    fig = monitoring.plot_metrics(frame.assign(train_mean_token_accuracy=0.5), title="t")
    loss_ax, acc_ax = fig.axes
    assert len(loss_ax.lines) == 4  # train + valid, each raw and smoothed
    assert [t.get_text() for t in loss_ax.get_legend().get_texts()] == ["training", "validazione"]
    assert len(acc_ax.lines) == 2
    ax = monitoring.plot_loss(frame, smoothing=0)
    assert len(ax.lines) == 2


def test_base64_of_something_else_is_rejected():
    with pytest.raises(ValueError, match="CSV"):
        monitoring.read_result_csv(base64.b64encode(b"hello, world"))


def test_diagnose_speaks_italian_numbers_and_the_course_register(monkeypatch):
    text = monitoring.diagnose(overfit_curve(n=30, turn=15), checkpoints())
    assert re.search(r"da \d+,\d{3} a \d+,\d{3}", text) and "aggiungete esempi" in text
    assert not re.search(r"\d\.\d{3}", text)  # no English decimal point left in the Italian text
    monkeypatch.setenv("FTLAB_LANG", "en")
    assert re.search(r"from \d+\.\d{3} to \d+\.\d{3}", monitoring.diagnose(overfit_curve(n=30, turn=15)))
