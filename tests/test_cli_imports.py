"""The report's command line as a process: what it imports, and the numpy code that replaced
scipy and scikit-learn in the drift (the same numbers, compared with the libraries themselves).

- `python -m metrics report --json --model M` imports neither scipy, scikit-learn, sqlglot,
  Evidently, Plotly, Streamlit nor the notes store's SQLAlchemy and Alembic, for a model
  without labels (a labelled classifier's estimate, CBPE, fits with SciPy's compiled
  isotonic regression routine alone; tests/test_estimation_cbpe.py checks it imports neither
  scikit-learn nor scipy.optimize).
- Jensen-Shannon and the raw Wasserstein distance equal scipy's to the last bit (the drift
  verdicts of tests/test_drift.py rest on them); Spearman's rho equals scipy's and its p-value
  agrees to 1e-9 relative; the multivariate drift's scaler and PCA give scikit-learn's errors.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from metrics.drift import multivariate
from metrics.drift.impact import spearman
from metrics.drift.statistics import jensen_shannon, wasserstein_raw
from tests.helpers.project import ROOT, subprocess_env

HEAVY = ("scipy", "sklearn", "sqlglot", "evidently", "plotly", "streamlit", "sqlalchemy", "alembic")

IMPORTS_OF_A_REPORT = """
import contextlib, io, json, sys
from metrics.__main__ import main
heavy = set(json.loads(HEAVY))
at_import = sorted({name.split(".")[0] for name in sys.modules} & heavy)
with contextlib.redirect_stdout(io.StringIO()) as out:
    code = main(sys.argv[1:])
after = sorted({name.split(".")[0] for name in sys.modules} & heavy)
print(json.dumps({"code": code, "import": at_import, "after": after, "report": out.getvalue()}))
"""

START = pd.Timestamp("2026-03-01", tz="UTC")


@pytest.fixture(scope="module")
def unlabelled(tmp_path_factory):
    """A model logging two numeric features, one text feature and scores, no labels: 20 days
    of 400 requests, the last 10 with `amount` shifted by 5 standard deviations."""
    from tests.helpers.project import Project

    rng = np.random.default_rng(3)
    project = Project(tmp_path_factory.mktemp("cli"))
    rows = 20 * 400
    day = np.repeat(np.arange(20), 400)
    frame = pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(rows)],
            "ts": START + pd.to_timedelta(day * 86400 + rng.integers(0, 86400, rows), unit="s"),
            "model": "scorer",
            "model_version": "v1",
            "latency_ms": rng.gamma(2.0, 20.0, rows),
            "status": "ok",
            "prediction": rng.integers(0, 2, rows).astype(float),
            "score": rng.random(rows),
            "amount": rng.normal(100, 10, rows) + np.where(day >= 10, 50.0, 0.0),
            "visits": rng.normal(5, 1, rows),
            "country": rng.choice(["FR", "DE", "ES"], rows),
        }
    )
    (project.root / "exports").mkdir()
    frame.to_parquet(project.root / "exports" / "inference.parquet")
    project.configure(
        '[[sources]]\nname = "logs"\nkind = "files"\nfeed = "inference"\n'
        'path = "exports/inference.parquet"\n'
    )
    assert project.sync().ok
    return project


def test_a_model_report_imports_no_heavy_module(unlabelled):
    code = IMPORTS_OF_A_REPORT.replace("HEAVY", repr(json.dumps(HEAVY)))
    args = [
        "report",
        "--json",
        "--config",
        str(unlabelled.config_path),
        "--model",
        "scorer",
        "--since",
        "2026-03-11",
        "--until",
        "2026-03-21",
    ]
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=subprocess_env(),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert (found["code"], found["import"], found["after"]) == (0, [], [])
    # the drift was computed (the modules were not skipped by an empty report): amount moved
    # by 5 standard deviations, so its normed Wasserstein distance is about 5
    drift = json.loads(found["report"])["models"]["scorer"]["drift"]
    assert drift["columns"]["amount"]["drifted"] is True
    assert drift["columns"]["amount"]["score"] == pytest.approx(5.0, abs=0.3)
    assert drift["columns"]["visits"]["drifted"] is False
    assert drift["multivariate"]["rows"] == 10 * 400


@pytest.mark.parametrize(
    ("reference", "current", "expected"),
    [
        ([0.0, 1.0, 3.0], [5.0, 6.0, 8.0], 5.0),  # every value moves by 5
        ([1.0, 1.0, 2.0, 2.0], [1.0, 2.0], 0.0),  # the same shares, ties on both sides
        ([0.0, 0.0, 0.0, 10.0], [0.0, 10.0], 2.5),  # a quarter of the mass moves by 10
        ([2.0], [2.0, 2.0, 4.0], 2 / 3),  # a third of the mass moves by 2
    ],
)
def test_raw_wasserstein_by_hand(reference, current, expected):
    assert wasserstein_raw(np.array(reference), np.array(current)) == pytest.approx(expected)


def test_raw_wasserstein_is_scipys_to_the_last_bit():
    from scipy import stats

    rng = np.random.default_rng(11)
    for i in range(60):
        n, m = rng.integers(1, 4000, 2)
        u = rng.normal(0, 1, n) * [1.0, 1e-3, 1e5][i % 3]
        v = rng.normal(rng.random(), 1, m)
        if i % 2:  # ties within and across the sides
            u, v = np.round(u, 1), np.round(v, 1)
        assert wasserstein_raw(u, v) == stats.wasserstein_distance(u, v)


def test_jensen_shannon_by_hand_and_as_scipy():
    from scipy.spatial import distance

    # disjoint supports: sqrt(ln 2); identical shares: 0
    assert jensen_shannon({"a": 3}, {"b": 5}) == pytest.approx(math.sqrt(math.log(2)))
    assert jensen_shannon({"a": 1, "b": 3}, {"a": 2, "b": 6}) == 0.0
    rng = np.random.default_rng(5)
    for _ in range(200):
        k = int(rng.integers(2, 40))
        ref, cur = rng.integers(0, 1000, k), rng.integers(0, 1000, k)
        ref[0] += 1
        cur[-1] += 1
        p, q = ref / ref.sum(), cur / cur.sum()
        expected = float(distance.jensenshannon(p, q))
        assert jensen_shannon(dict(enumerate(ref)), dict(enumerate(cur))) == expected


def test_spearman_as_scipy():
    from scipy import stats

    # by hand: ranks (1, 2, 3, 4) against (1, 3, 2, 4): rho = 1 - 6 * 2 / (4 * 15) = 0.8
    assert spearman(np.array([1.0, 2, 3, 4]), np.array([10.0, 30, 20, 40]))[0] == pytest.approx(0.8)
    assert spearman(np.arange(9.0), np.arange(9.0) ** 2) == (1.0, 0.0)
    rng = np.random.default_rng(2)
    for i in range(300):
        n = int(rng.integers(3, 100))
        x = rng.normal(size=n)
        y = x * rng.random() * 3 + rng.normal(size=n)
        if i % 3 == 0:
            x, y = np.round(x), np.round(y, 1)
        if len(set(x)) < 2 or len(set(y)) < 2:
            continue
        rho, p = spearman(x, y)
        theirs = stats.spearmanr(x, y)
        assert rho == pytest.approx(theirs.statistic, abs=1e-12)
        assert p == pytest.approx(theirs.pvalue, rel=1e-9, abs=1e-300)


def test_the_reconstruction_is_scikit_learns():
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(4)
    x = rng.normal(size=500)
    reference = pd.DataFrame(
        {
            "x": x,
            "y": 2 * x + rng.normal(0, 0.3, 500),
            "z": rng.normal(size=500),
            "constant": 1.0,
            "c": rng.choice(["a", "b", "c"], 500, p=[0.5, 0.3, 0.2]),
        }
    )
    current = reference.assign(y=-2 * reference["x"] + rng.normal(0, 0.3, 500))
    fitted = multivariate.fit(reference, ["x", "y", "z", "constant"], ["c"])
    encoded = multivariate._encoded(
        reference, fitted.numeric, fitted.categorical, fitted.means, fitted.modes, fitted.shares
    )
    scaler = StandardScaler().fit(encoded)
    pca = PCA(n_components=multivariate.VARIANCE_KEPT, svd_solver="full").fit(
        scaler.transform(encoded)
    )
    assert fitted.components == pca.n_components_
    for rows in (reference, current):
        matrix = multivariate._encoded(
            rows, fitted.numeric, fitted.categorical, fitted.means, fitted.modes, fitted.shares
        )
        scaled = scaler.transform(matrix)
        theirs = np.linalg.norm(scaled - pca.inverse_transform(pca.transform(scaled)), axis=1)
        assert multivariate.errors(fitted, rows) == pytest.approx(theirs, abs=1e-9)


def test_sections_compute_only_what_is_asked(unlabelled):
    import settings
    from metrics.__main__ import report

    config = settings.load(unlabelled.config_path)
    args = (config, "2026-03-11", "2026-03-21", None, "scorer")
    whole = report(*args)
    only_drift = report(*args, sections=["drift"])
    assert set(only_drift) == {"window", "filters", "models"}
    assert set(only_drift["models"]) == {"scorer"}
    # the same univariate reading as the whole report's, without what only the whole one adds
    expected = {
        k: v
        for k, v in whole["models"]["scorer"]["drift"].items()
        if k not in ("multivariate", "impact")
    }
    assert only_drift["models"]["scorer"] == {"drift": expected}
    assert expected["current"]["rows"] == 10 * 400 and expected["columns"]["amount"]["drifted"]
    rows = report(*args, sections=["rows", "flow"])
    assert set(rows) == {"window", "filters", "rows", "flow"}
    assert rows["rows"] == whole["rows"] and rows["flow"] == whole["flow"]
    assert report(*args, sections=["models"])["models"] == whole["models"]
    with pytest.raises(ValueError, match="unknown report section 'drfit'"):
        report(*args, sections=["drfit"])
