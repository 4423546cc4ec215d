"""The calibration protocol (hmk.calibration): the fit finds the best kernel IPC, a fault's cost
is a + b / kernel_ipc as the protocol assumes, the committed fit is what the model gives at the
fitted value, and docs/calibration.md and fitted.toml are rendered from the committed fit."""

from __future__ import annotations

import math
import tomllib

import pytest

from hmk.calibration import fit as F
from hmk.calibration import page as P


def test_the_fit_minimizes_the_log_errors():
    published = {t: F.anchors()[t.anchor]["value"] for t in F.FIT}
    # curves whose best common IPC is known: each anchor met exactly at 1.7
    curves = {t: (10.0, (published[t] - 10.0) * 1.7) for t in F.FIT}
    assert F.fit(curves) == pytest.approx(1.7, abs=0.002)
    # two anchors pulling apart: the optimum is the geometric compromise
    t1, t2 = F.FIT[0], F.FIT[1]
    curves = {t1: (0.0, published[t1] * 1.0), t2: (0.0, published[t2] * 4.0)}
    assert F.fit(curves) == pytest.approx(2.0, abs=0.005)


def test_a_faults_cost_is_linear_in_the_inverse_kernel_ipc():
    target = F.FIT[2]  # Linux's read fault on the Pi
    a, b = F.curve(target)
    assert b > 0
    assert F.measure(target, 1.5) == pytest.approx(a + b / 1.5, rel=0.01)


def test_transfer_scales_by_the_models_integer_ipc(monkeypatch):
    rates = {"cortex-a72": 2.0, "cortex-a77": 3.0, "cortex-a76": 2.5, "cortex-a55": 1.0}
    where = {v: k for k, v in F.core_types().items()}
    monkeypatch.setattr(F, "integer_ipc", lambda soc, cluster: rates[where[(soc, cluster)]])
    _, kernel = F.transfer(1.6)
    assert kernel == {"cortex-a72": 1.6, "cortex-a77": 2.4, "cortex-a76": 2.0, "cortex-a55": 0.8}


def test_the_committed_fit_is_what_the_model_gives():
    data = P.committed()
    with F.FITTED.open("rb") as f:
        assert tomllib.load(f)["kernel_ipc"] == data["kernel_ipc"]
    row = data["fitted"][0]
    target = next(t for t in F.FIT if t.anchor == row["anchor"])
    model = F.measure(target, data["kernel_ipc"][F.FIT_CORE])
    assert model == pytest.approx(row["model_ns"], abs=0.1)
    assert row["error_pct"] == pytest.approx(100 * (model / row["published_ns"] - 1), abs=0.1)


def test_the_page_is_rendered_from_the_committed_fit():
    data = P.committed()
    assert P.PAGE.read_text(encoding="utf-8") == P.render(data), (
        "run: python -m hmk calibrate --write"
    )
    rms = math.sqrt(
        sum(math.log(r["model_ns"] / r["published_ns"]) ** 2 for r in data["fitted"])
        / len(data["fitted"])
    )
    assert data["rms_log_error_fit"] == pytest.approx(rms, abs=0.001)
