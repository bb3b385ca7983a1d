"""What the profile tests share: generated inference rows, the warehouse they make through
`files`, the stored profiles read back and compared, and m2 checked against exact arithmetic.

Used by tests/test_profiles_remote.py (PostgreSQL), tests/test_spark_connector.py (Spark) and
tests/test_drift.py (DuckDB), which must agree on the same rows.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from tests.helpers.project import Project

UTC = dt.UTC
DAYS = [dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3)]


def generated_rows(per_day: int = 1500, seed: int = 7) -> pd.DataFrame:
    """Inference rows over three days: 2 float, 1 integer, 1 text and 1 boolean feature, with
    NULLs, NaN and infinities; the third day drifts on `amount` and `country`."""
    rng = np.random.default_rng(seed)
    frames = []
    for index, day in enumerate(DAYS):
        n = per_day
        shift = 3.0 if index == 2 else 0.0
        seconds = np.sort(rng.integers(0, 86_400, n))
        amount = rng.normal(50 + shift * 10, 10, n).round(3)
        amount[rng.random(n) < 0.03] = np.nan
        amount[:3] = [np.inf, -np.inf, np.nan]
        ratio = rng.random(n)
        visits = rng.integers(0, 40, n).astype("float")
        visits[rng.random(n) < 0.05] = np.nan
        countries = np.array(["fr", "de", "it", "es"] if index < 2 else ["fr", "us", "us", "us"])
        country = rng.choice(countries, n).astype(object)
        country[rng.random(n) < 0.04] = None
        is_new = (rng.random(n) < 0.3).astype(object)
        is_new[rng.random(n) < 0.02] = None
        ts = [
            dt.datetime.combine(day, dt.time(), UTC) + dt.timedelta(seconds=int(s)) for s in seconds
        ]
        frames.append(
            pd.DataFrame(
                {
                    "request_id": [f"r{index}-{i}" for i in range(n)],
                    "ts": ts,
                    "model": "scorer",
                    "model_version": "v1",
                    "latency_ms": rng.integers(5, 200, n).astype(float),
                    "status": "ok",
                    "prediction": rng.random(n).round(6),
                    "score": rng.random(n),
                    "amount": amount,
                    "ratio": ratio,
                    "visits": pd.array(visits, dtype="Int64"),
                    "country": country,
                    "is_new": pd.array(is_new, dtype="boolean"),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def files_project(root, rows: pd.DataFrame, name: str = "requests") -> Project:
    """A warehouse fed the rows through the `files` connector (DuckDB profiles them at sync):
    exports/<name>.parquet, read by the source <name>_files."""
    project = Project(root)
    path = root / "exports" / f"{name}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows.to_parquet(path, index=False)
    project.configure(
        f'[[sources]]\nname = "{name}_files"\nkind = "files"\nfeed = "inference"\n'
        f'path = "exports/{name}.parquet"\n'
    )
    report = project.sync()
    assert report.ok, report.as_dict()
    return project


def stored(project: Project) -> dict[str, list[tuple]]:
    """The profile tables of a warehouse, sorted, without what only says who computed them."""
    return {
        "bins": project.query(
            "select model, feature, day, bin, n, minimum, maximum, mean, m2 "
            "from drift_profile_bins order by all"
        ),
        "values": project.query(
            "select model, feature, day, value, n, capped from drift_profile_values order by all"
        ),
        "days": project.query("select model, day, rows from drift_profile_days order by all"),
        "specs": project.query(
            "select model, feature, lo, width, bins from drift_bin_specs order by all"
        ),
        "features": project.query(
            "select model, feature, data_type from inference_features order by all"
        ),
    }


def close(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)
    return a == b


def assert_interchangeable(ours: dict, theirs: dict) -> None:
    for table in ("values", "days", "specs", "features"):
        assert ours[table] == theirs[table], table
    assert len(ours["bins"]) == len(theirs["bins"])
    for a, b in zip(ours["bins"], theirs["bins"], strict=True):
        assert a[:5] == b[:5], (a, b)  # model, feature, day, bin, n: exactly
        assert all(close(x, y) for x, y in zip(a[5:], b[5:], strict=True)), (a, b)


# --- m2 on values far from zero -----------------------------------------------------------------


def far_from_zero(n: int = 5000, seed: int = 3) -> pd.DataFrame:
    """Values around 100,000 that spread by 0.05: a naive variance loses 5 digits here."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"ts": pd.Timestamp("2026-03-01", tz="UTC"), "x": 100_000 + rng.normal(0, 0.05, n)}
    )


def m2_errors(frame: pd.DataFrame, query) -> float:
    """The worst relative gap between the profile's m2 per bin, as `query` (an engine running
    the profile SQL) computes it, and the exact m2 (rational arithmetic)."""
    from fractions import Fraction

    from profiling import queries

    x = frame["x"].to_numpy()
    spec = queries.spec_from_range(float(np.quantile(x, 0.001)), float(np.quantile(x, 0.999)))
    found = query(spec).set_index("bin")["m2"]
    bins = np.clip(np.floor((x - spec.lo) / spec.width), -1, spec.bins).astype(int)
    worst = 0.0
    for bin_, values in pd.Series(x).groupby(bins):
        exact_values = [Fraction(v) for v in values]
        mean = sum(exact_values) / len(exact_values)
        exact = sum((v - mean) ** 2 for v in exact_values)
        if exact:
            worst = max(worst, abs(float(found[bin_]) - float(exact)) / float(exact))
    return worst
