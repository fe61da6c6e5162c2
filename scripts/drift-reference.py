#!/usr/bin/env python3
"""Generate the drift reference fixtures in test/fixtures/drift/ with the real scipy and Evidently.

The TypeScript drift statistics (activities/drift/) claim to match Evidently's default data-drift
behaviour and scipy numerically. CI has no Python, so this script is run by hand once and its output is
committed; the unit tests (test/unit/drift-stats.test.ts) only read the JSON.

    python3 scripts/drift-reference.py

Needs numpy, scipy, pandas and evidently (written against scipy 1.17, numpy 2.4, evidently 0.7; evidently
0.7 does not import under pandas 3, so use pandas < 3). Every input is drawn from a seeded numpy generator
and written into the fixture next to the expected values, so the tests recompute from the same inputs.
Numbers are rounded to a few decimals before anything is computed on them: the JSON holds exactly the
values both sides use. Missing numerical values are written as null (NaN) or "inf"/"-inf"; missing
categorical values as null.
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import scipy
import scipy.stats as st
from scipy.stats import _stats_py

import evidently
from evidently import DataDefinition, Dataset, Report
from evidently.legacy.calculations.stattests import registry as ev_registry
from evidently.legacy.calculations.stattests import utils as ev_utils
from evidently.legacy.calculations.stattests.chisquare_stattest import chi_stat_test
from evidently.legacy.calculations.stattests.jensenshannon import jensenshannon_stat_test
from evidently.legacy.calculations.stattests.ks_stattest import ks_stat_test
from evidently.legacy.calculations.stattests.psi import psi_stat_test
from evidently.legacy.calculations.stattests.wasserstein_distance_norm import wasserstein_stat_test
from evidently.legacy.calculations.stattests.z_stattest import z_stat_test
from evidently.legacy.core import ColumnType
from evidently.presets import DataDriftPreset

OUT = Path(__file__).resolve().parent.parent / "test" / "fixtures" / "drift"

GENERATOR = {
    "script": "scripts/drift-reference.py",
    "python": sys.version.split()[0],
    "numpy": np.__version__,
    "scipy": scipy.__version__,
    "pandas": pd.__version__,
    "evidently": evidently.__version__,
}

# Evidently reports its tests by display name; the fixtures use the registry names.
DISPLAY_TO_NAME = {
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "PSI": "psi",
}
STATTESTS = {
    "ks": ks_stat_test,
    "chisquare": chi_stat_test,
    "z": z_stat_test,
    "wasserstein": wasserstein_stat_test,
    "jensenshannon": jensenshannon_stat_test,
    "psi": psi_stat_test,
}
KIND_TO_TYPE = {"numerical": ColumnType.Numerical, "categorical": ColumnType.Categorical}


# ----------------------------------------------------------------------------------------------- helpers


def rounded(a, decimals: int) -> list[float]:
    return [float(v) for v in np.round(np.asarray(a, dtype=np.float64), decimals)]


def encode_num(values) -> list:
    """JSON has no NaN/inf: NaN -> null, +-inf -> "inf"/"-inf"."""
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            out.append(None)
        elif v == math.inf:
            out.append("inf")
        elif v == -math.inf:
            out.append("-inf")
        else:
            out.append(float(v))
    return out


def encode_cat(values) -> list:
    return [None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v) for v in values]


def series(kind: str, values) -> pd.Series:
    if kind == "numerical":
        return pd.Series(np.asarray([np.nan if v is None else v for v in values], dtype=np.float64))
    return pd.Series([None if v is None else v for v in values], dtype=object)


def clean(s: pd.Series) -> pd.Series:
    """What Evidently's get_one_column_drift does before testing: +-inf -> NaN, then dropna."""
    return s.replace([-np.inf, np.inf], np.nan).dropna()


def num(x) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x


def write(name: str, payload: dict) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"generator": GENERATOR, **payload}, allow_nan=False, separators=(",", ":"))
    (OUT / name).write_text(text + "\n")
    print(f"wrote {name}: {len(text) / 1024:.1f} KiB")


# ----------------------------------------------------------------------------------------------- KS


def ks_fixture() -> None:
    rng = np.random.default_rng(20240611)
    samples = []

    def method(x, y, d):
        # ks_2samp's own choice: exact when max(n1, n2) <= 10000 unless the exact value falls outside [0, 1].
        n1, n2 = len(x), len(y)
        if max(n1, n2) > 10000:
            return "asymp"
        ok, _, _ = _stats_py._attempt_exact_2kssamp(n1, n2, math.gcd(n1, n2), d, "two-sided")
        return "exact" if ok else "asymp"

    def add(name, x, y):
        r = st.ks_2samp(x, y)
        samples.append(
            {
                "name": name,
                "method": method(x, y, float(r.statistic)),
                "x": x,
                "y": y,
                "statistic": float(r.statistic),
                "pvalue": float(r.pvalue),
            }
        )

    add("equal sizes", rounded(rng.normal(0, 1, 200), 5), rounded(rng.normal(0.25, 1, 200), 5))
    add("equal sizes, same distribution", rounded(rng.normal(0, 1, 150), 5), rounded(rng.normal(0, 1, 150), 5))
    add("unequal sizes", rounded(rng.normal(0, 1, 300), 5), rounded(rng.normal(0.15, 1.1, 457), 5))
    add("unequal sizes, strong shift", rounded(rng.normal(0, 1, 240), 5), rounded(rng.normal(0.8, 1, 170), 5))
    add("ties", rounded(rng.normal(0, 1, 250), 1), rounded(rng.normal(0.1, 1, 380), 1))
    add("ties, equal sizes", [float(v) for v in rng.integers(0, 8, 120)], [float(v) for v in rng.integers(0, 9, 120)])
    add("larger unequal sizes", rounded(rng.normal(0, 1, 1200), 3), rounded(rng.normal(0.05, 1, 1701), 3))
    add("tiny samples", [0.5, 1.5, 2.5], [1.0, 2.0, 3.0, 4.0, 5.0])
    add("equal sizes, d = 1/n (the exact value rounds above 1: asymptotic fallback)",
        [float(v) for v in range(1000)], [float(v) for v in range(1, 1001)])
    add("disjoint samples", rounded(rng.uniform(0, 1, 40), 4), rounded(rng.uniform(2, 3, 25), 4))
    # max(n1, n2) > 10000: scipy switches to the asymptotic kstwo.sf(d, round(n1*n2/(n1+n2))).
    add("asymptotic, small window", rounded(rng.normal(0, 1, 10001), 3), rounded(rng.normal(0.2, 1, 60), 3))
    add("asymptotic, medium window", rounded(rng.normal(0, 1, 10050), 3), rounded(rng.normal(0.06, 1, 700), 3))

    # Exact two-sample null distribution P(D >= d) on a grid, through scipy's own exact routine (the one
    # ks_2samp calls for method 'auto' when max(n1, n2) <= 10000).
    exact = []
    all_fracs = [0.0, 0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0]
    # Large unequal sizes cost O(n1 * n2 * d) in both implementations: keep their d small.
    for n1, n2, fracs in [(1, 1, all_fracs), (3, 5, all_fracs), (10, 10, all_fracs), (25, 40, all_fracs),
                          (60, 60, all_fracs), (100, 37, all_fracs), (333, 1000, all_fracs),
                          (1000, 1000, all_fracs), (2500, 4000, all_fracs[:7]), (10000, 9999, all_fracs[:5]),
                          (10000, 10000, all_fracs), (7, 10000, all_fracs)]:
        g = math.gcd(n1, n2)
        lcm = (n1 // g) * n2
        for frac in fracs:
            h = int(round(frac * lcm))
            d = h / lcm
            ok, d2, p = _stats_py._attempt_exact_2kssamp(n1, n2, g, d, "two-sided")
            exact.append({"n1": n1, "n2": n2, "d": d, "pvalue": float(p), "exact": bool(ok)})

    # One-sample two-sided Kolmogorov distribution survival function (scipy.stats.kstwo.sf), every branch of
    # scipy.stats._ksstats._kolmogn: Ruben-Gambino ends, Durbin matrix, Pomeranz, Pelz-Good, 2*smirnov.
    kolmogorov = []
    for n in [1, 2, 3, 5, 10, 37, 100, 140, 141, 500, 3333, 20000, 100000, 100001, 500000, 1000001]:
        xs = set()
        for t in [0.3, 0.5, 0.75, 1.0]:
            xs.add(t / n)
        nx2s = [0.01, 0.1, 0.5, 0.754, 0.76, 1.0, 2.0, 2.19, 2.21, 3.0, 3.99, 4.01, 6.0, 10.0, 17.9, 18.1, 30.0,
                100.0, 369.0, 371.0]
        if 100000 < n <= 1000000:
            # The Smirnov sum runs over ~n terms here (as long in scipy): a few points suffice.
            nx2s = [0.01, 0.5, 1.0, 2.19, 2.21, 30.0, 369.0, 371.0]
        for nx2 in nx2s:
            xs.add(math.sqrt(nx2 / n))
        for x in [0.001, 0.003, 0.01, 0.05, 0.2, 0.49, 0.5, 0.7, 0.99, 1.0]:
            xs.add(x)
        if n > 1:
            xs.add((n - 1) / n)
            xs.add((n - 1.5) / n)
        if n <= 100000:
            xs.add((1.4 / n) ** (2 / 3) * 0.999)  # just inside the Durbin-matrix region for n > 140
        for x in sorted(xs):
            if 0 < x <= 1:
                kolmogorov.append({"n": n, "x": x, "sf": float(st.kstwo.sf(x, n))})

    write("ks.json", {"samples": samples, "exact": exact, "kolmogorov": kolmogorov})


# ----------------------------------------------------------------------------------------------- tests


def evidently_test(name: str, kind: str, ref: pd.Series, cur: pd.Series, threshold=None) -> dict:
    r = STATTESTS[name](ref, cur, KIND_TO_TYPE[kind], threshold)
    return {"stattest": name, "score": num(r.drift_score), "drifted": bool(r.drifted),
            "threshold": float(r.actual_threshold)}


def binned(kind: str, ref: pd.Series, cur: pd.Series, fill: bool) -> dict:
    r, c = ev_utils.get_binned_data(ref, cur, KIND_TO_TYPE[kind], 30, fill)
    return {"reference": [float(v) for v in r], "current": [float(v) for v in c]}


def stattests_fixture() -> None:
    rng = np.random.default_rng(7)
    cases = []

    def add(name, kind, ref, cur, tests, thresholds=None):
        rs, cs = clean(series(kind, ref)), clean(series(kind, cur))
        results = [evidently_test(t, kind, rs, cs) for t in tests]
        for t, thr in (thresholds or {}).items():
            results.append(evidently_test(t, kind, rs, cs, thr))
        entry = {
            "name": name,
            "kind": kind,
            "reference": encode_num(ref) if kind == "numerical" else encode_cat(ref),
            "current": encode_num(cur) if kind == "numerical" else encode_cat(cur),
            "results": results,
            "binned": binned(kind, rs, cs, True),
            "binnedNoFill": binned(kind, rs, cs, False),
            "default": ev_registry._get_default_stattest(rs, cs, KIND_TO_TYPE[kind]).name,
        }
        cases.append(entry)

    num_tests = ["ks", "wasserstein", "jensenshannon", "psi"]
    add("numerical, shifted", "numerical", rounded(rng.normal(0, 1, 400), 4), rounded(rng.normal(0.3, 1.2, 350), 4),
        num_tests, {"ks": 0.2, "wasserstein": 0.3, "psi": 1.0})
    add("numerical, same distribution", "numerical", rounded(rng.normal(5, 2, 500), 4),
        rounded(rng.normal(5, 2, 420), 4), num_tests)
    add("numerical, current outside the reference range (empty bins)", "numerical",
        rounded(rng.normal(0, 1, 300), 4), rounded(rng.normal(2.5, 0.5, 200), 4), num_tests)
    add("numerical, 1024 values in total (sturges on a power of two)", "numerical",
        rounded(rng.uniform(0, 10, 600), 3), rounded(rng.uniform(1, 10, 424), 3), num_tests)
    add("numerical, 21 unique reference values (binned)", "numerical",
        [float(v) for v in rng.integers(0, 21, 300)], [float(v) for v in rng.integers(0, 25, 260)], num_tests)
    add("numerical, 20 unique reference values (per value shares)", "numerical",
        [float(v) for v in rng.integers(0, 20, 300)], [float(v) for v in rng.integers(0, 23, 260)], num_tests)
    add("numerical, constant reference", "numerical", [3.0] * 50, rounded(rng.normal(3, 0.01, 40), 4),
        ["ks", "wasserstein", "jensenshannon", "psi"])
    ref = rounded(rng.normal(0, 1, 200), 4)
    cur = rounded(rng.normal(0.2, 1, 180), 4)
    for i in range(0, 200, 17):
        ref[i] = math.nan
    ref[5], ref[6], cur[3], cur[4] = math.inf, -math.inf, math.inf, math.nan
    add("numerical, missing values", "numerical", ref, cur, num_tests)
    add("numerical, four values (chi-square by default)", "numerical",
        [float(v) for v in rng.choice([0.0, 1.0, 2.5, 4.0], 300, p=[0.4, 0.3, 0.2, 0.1])],
        [float(v) for v in rng.choice([0.0, 1.0, 2.5, 4.0], 200, p=[0.3, 0.3, 0.25, 0.15])],
        ["jensenshannon", "psi"])
    add("numerical, binary (z by default)", "numerical", [float(v) for v in rng.integers(0, 2, 400)],
        [float(v) for v in (rng.random(300) < 0.6)], ["jensenshannon", "psi"])

    letters = ["alpha", "beta", "gamma", "delta", "epsilon"]
    cat_tests = ["chisquare", "z", "jensenshannon", "psi"]
    add("categorical, several categories", "categorical", list(rng.choice(letters, 500, p=[0.3, 0.25, 0.2, 0.15, 0.1])),
        list(rng.choice(letters, 400, p=[0.25, 0.25, 0.2, 0.2, 0.1])), cat_tests, {"chisquare": 0.5})
    add("categorical, new category in current", "categorical", list(rng.choice(letters[:3], 300)),
        list(rng.choice(letters[:4], 250)), cat_tests)
    add("categorical, category missing from current", "categorical", list(rng.choice(letters, 300)),
        list(rng.choice(letters[1:], 250)), cat_tests)
    add("categorical, binary", "categorical", list(rng.choice(["no", "yes"], 600, p=[0.7, 0.3])),
        list(rng.choice(["no", "yes"], 500, p=[0.62, 0.38])), cat_tests, {"z": 0.001})
    add("categorical, binary, same", "categorical", list(rng.choice(["no", "yes"], 300)),
        list(rng.choice(["no", "yes"], 280)), cat_tests)
    add("categorical, one shared category", "categorical", ["on"] * 30, ["on"] * 20, ["z", "jensenshannon", "psi"])
    cref = list(rng.choice(letters, 250))
    ccur = list(rng.choice(letters, 200, p=[0.1, 0.1, 0.2, 0.3, 0.3]))
    for i in range(0, 250, 11):
        cref[i] = None
    ccur[7] = None
    add("categorical, missing values", "categorical", cref, ccur, cat_tests)

    write("stattests.json", {"cases": cases})


# ----------------------------------------------------------------------------------------------- selection


def selection_fixture() -> None:
    rng = np.random.default_rng(99)
    cases = []

    def add(name, kind, ref, cur):
        rs, cs = clean(series(kind, ref)), clean(series(kind, cur))
        cases.append({
            "name": name,
            "kind": kind,
            "reference": encode_num(ref) if kind == "numerical" else encode_cat(ref),
            "current": encode_num(cur) if kind == "numerical" else encode_cat(cur),
            "stattest": ev_registry._get_default_stattest(rs, cs, KIND_TO_TYPE[kind]).name,
        })

    ints = lambda k, n: [float(v) for v in rng.integers(0, k, n)]  # noqa: E731
    for rows in (1000, 1001):
        add(f"numerical, {rows} reference rows, 12 values", "numerical", ints(12, rows), ints(12, 80))
        add(f"numerical, {rows} reference rows, 5 values", "numerical", ints(5, rows), ints(5, 80))
        add(f"numerical, {rows} reference rows, 3 values", "numerical", ints(3, rows), ints(3, 80))
        add(f"numerical, {rows} reference rows, 2 values", "numerical", ints(2, rows), ints(2, 80))
        add(f"categorical, {rows} reference rows, 2 categories", "categorical",
            list(rng.choice(["a", "b"], rows)), list(rng.choice(["a", "b"], 80)))
        add(f"categorical, {rows} reference rows, 4 categories", "categorical",
            list(rng.choice(["a", "b", "c", "d"], rows)), list(rng.choice(["a", "b", "c", "d"], 80)))
    # Unique values are counted over reference and current together.
    add("numerical, 5 reference values and a 6th in current", "numerical", ints(5, 200), ints(5, 50) + [7.0])
    add("numerical, 2 reference values and a 3rd in current", "numerical", ints(2, 200), ints(2, 50) + [2.0])
    add("categorical, 2 reference categories and a 3rd in current", "categorical",
        list(rng.choice(["a", "b"], 200)), list(rng.choice(["a", "b", "c"], 50)))
    # Rows are counted after dropping missing values: 1005 rows of which 10 missing -> 995 <= 1000.
    ref = ints(40, 1005)
    for i in range(10):
        ref[i * 50] = math.nan
    add("numerical, 1005 rows of which 10 missing", "numerical", ref, ints(40, 80))

    write("selection.json", {"cases": cases})


# ----------------------------------------------------------------------------------------------- datasets


def run_preset(ref: pd.DataFrame, cur: pd.DataFrame, kinds: dict, **preset) -> dict:
    dd = DataDefinition(
        numerical_columns=[c for c, k in kinds.items() if k == "numerical"],
        categorical_columns=[c for c, k in kinds.items() if k == "categorical"],
    )
    report = Report([DataDriftPreset(**preset)], include_tests=True)
    snap = report.run(Dataset.from_pandas(cur, data_definition=dd), Dataset.from_pandas(ref, data_definition=dd))
    d = snap.dict()
    status = {t["metric_config"]["metric_id"]: t["status"] for t in d["tests"]}
    columns, dataset = [], None
    for m in d["metrics"]:
        cfg = m["config"]
        if cfg["type"].endswith("DriftedColumnsCount"):
            dataset = {"count": int(m["value"]["count"]), "share": float(m["value"]["share"]),
                       "drifted": status[m["id"]] == "FAIL", "columnShare": float(cfg["drift_share"])}
        elif cfg["type"].endswith("ValueDrift"):
            columns.append({"column": cfg["column"], "kind": kinds[cfg["column"]],
                            "stattest": DISPLAY_TO_NAME.get(cfg["method"], cfg["method"]), "threshold": float(cfg["threshold"]),
                            "score": num(m["value"]), "drifted": status[m["id"]] == "FAIL"})
    assert dataset is not None
    return {"columns": columns, "dataset": dataset}


def frame_json(df: pd.DataFrame, kinds: dict) -> dict:
    return {c: (encode_num(df[c].tolist()) if kinds[c] == "numerical" else encode_cat(df[c].tolist()))
            for c in df.columns}


def sprinkle_missing(rng, values: list, share: float, kind: str) -> list:
    out = list(values)
    for i in np.flatnonzero(rng.random(len(out)) < share):
        out[i] = None if kind == "categorical" else float(rng.choice([math.nan, math.inf, -math.inf]))
    return out


def datasets_fixture() -> None:
    rng = np.random.default_rng(4242)
    datasets, runs = {}, []

    # Small reference (<= 1000 rows): p-value tests. Three of six columns drift -> share exactly 0.5.
    kinds_small = {"num_shift": "numerical", "num_same": "numerical", "num_few": "numerical",
                   "num_binary": "numerical", "cat_multi": "categorical", "cat_binary": "categorical"}

    def small(n, shift):
        return pd.DataFrame({
            "num_shift": sprinkle_missing(rng, rounded(rng.normal(shift * 0.6, 1, n), 4), 0.03, "numerical"),
            "num_same": sprinkle_missing(rng, rounded(rng.normal(10, 3, n), 4), 0.03, "numerical"),
            "num_few": [float(v) for v in rng.choice([1.0, 2.0, 3.0, 4.0], n,
                                                      p=[0.25, 0.25, 0.25, 0.25] if shift == 0 else [0.1, 0.2, 0.3, 0.4])],
            "num_binary": [float(v) for v in (rng.random(n) < 0.5)],
            "cat_multi": sprinkle_missing(rng, list(rng.choice(list("ABCDE"), n,
                                                                 p=[0.2] * 5 if shift == 0 else [0.4, 0.3, 0.1, 0.1, 0.1])),
                                          0.02, "categorical"),
            "cat_binary": list(rng.choice(["red", "blue"], n)),
        })

    ref_s, cur_s = small(300, 0), small(250, 1)
    datasets["small"] = {"kinds": kinds_small, "reference": frame_json(ref_s, kinds_small),
                         "current": frame_json(cur_s, kinds_small)}
    runs.append({"name": "small reference, defaults", "data": "small", "options": {},
                 **run_preset(ref_s, cur_s, kinds_small)})
    runs.append({"name": "small reference, drift share 0.6", "data": "small", "options": {"driftShare": 0.6},
                 **run_preset(ref_s, cur_s, kinds_small, drift_share=0.6)})

    # Large reference (> 1000 rows): distances. Two of six columns drift -> share 1/3.
    kinds_large = {"num_a": "numerical", "num_b": "numerical", "num_c": "numerical", "num_d": "numerical",
                   "cat_a": "categorical", "cat_b": "categorical"}

    def large(n, shift):
        return pd.DataFrame({
            "num_a": sprinkle_missing(rng, rounded(rng.normal(shift * 0.4, 1, n), 3), 0.02, "numerical"),
            "num_b": rounded(rng.normal(100, 15, n) + shift * 0.3, 3),
            "num_c": [float(v) for v in rng.choice([0.0, 1.0, 2.0, 3.0], n)],
            "num_d": [float(v) for v in rng.integers(0, 12, n)],
            "cat_a": sprinkle_missing(rng, list(rng.choice(["north", "south", "east", "west", "centre"], n,
                                                             p=[0.2] * 5 if shift == 0 else [0.4, 0.2, 0.2, 0.1, 0.1])),
                                      0.02, "categorical"),
            "cat_b": list(rng.choice(["T", "F"], n)),
        })

    ref_l, cur_l = large(1100, 0), large(600, 1)
    datasets["large"] = {"kinds": kinds_large, "reference": frame_json(ref_l, kinds_large),
                         "current": frame_json(cur_l, kinds_large)}
    runs.append({"name": "large reference, defaults", "data": "large", "options": {},
                 **run_preset(ref_l, cur_l, kinds_large)})
    per_column_threshold = {"num_b": 0.005, "cat_b": 0.001}
    per_column_method = {"cat_a": "psi", "num_c": "psi", "num_d": "jensenshannon"}
    runs.append({"name": "large reference, per-column thresholds and methods", "data": "large",
                 "options": {"perColumnThreshold": per_column_threshold, "perColumnMethod": per_column_method},
                 **run_preset(ref_l, cur_l, kinds_large, per_column_threshold=per_column_threshold,
                              per_column_method=per_column_method)})

    write("datasets.json", {"datasets": datasets, "runs": runs})


def main() -> None:
    warnings.simplefilter("ignore")
    ks_fixture()
    stattests_fixture()
    selection_fixture()
    datasets_fixture()


if __name__ == "__main__":
    main()
