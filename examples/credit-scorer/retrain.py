"""Retrains a credit default model for Steward's command runner and writes a JSON linear model the built-in
runtime serves (framework `json-linear`).

A template runs it with an argv such as

    ["python", "examples/credit-scorer/retrain.py", "--data", "{data}", "--out", "{out}"]

`{data}` is the parent version's first training dataset (a CSV with a header row), `{out}` an empty directory
Steward made for this run. The script writes there:

  model.json   {"kind":"linear","features":[...],"coefficients":[...],"intercept":...,"link":"logistic",
               "threshold":0.5}: scikit-learn's LogisticRegression on standardised features, with the scaling
               folded back into the coefficients so the model scores raw feature values
  result.json  the artifact list, held-out metrics (auc, accuracy, log_loss on a 25% stratified split) and
               the training data (URI and sha256) for the new version's lineage

Steward reads model.json's bytes and computes its sha256 itself. The same data gives the same bytes, so a
retrain on unchanged data produces no new version. Needs numpy, pandas and scikit-learn.
"""

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="training CSV with a header row")
    parser.add_argument("--out", required=True, help="directory to write model.json and result.json into")
    parser.add_argument("--features", default="income,debt_to_income", help="comma-separated feature columns")
    parser.add_argument("--label", default="default", help="the 0/1 label column")
    parser.add_argument("--seed", type=int, default=20251201)
    args = parser.parse_args()

    data_path = Path(args.data).resolve()
    out = Path(args.out)
    features = [f for f in args.features.split(",") if f]
    frame = pd.read_csv(data_path)
    missing = [c for c in [*features, args.label] if c not in frame.columns]
    if missing:
        raise SystemExit(f"{data_path}: missing column(s) {', '.join(missing)} (has {', '.join(frame.columns)})")
    x = frame[features].to_numpy(dtype=float)
    y = frame[args.label].to_numpy(dtype=int)
    print(f"training on {len(frame)} rows, {len(features)} features, {y.mean():.3f} positive", flush=True)

    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=args.seed, stratify=y)
    scaler = StandardScaler().fit(x_train)
    model = LogisticRegression(max_iter=1000).fit(scaler.transform(x_train), y_train)

    # score = b + w·(x - mean)/scale = (b - Σ w·mean/scale) + Σ (w/scale)·x
    weights = model.coef_[0] / scaler.scale_
    intercept = float(model.intercept_[0] - np.sum(model.coef_[0] * scaler.mean_ / scaler.scale_))
    document = {
        "kind": "linear",
        "features": features,
        "coefficients": [float(w) for w in weights],
        "intercept": intercept,
        "link": "logistic",
        "threshold": 0.5,
    }
    probability = model.predict_proba(scaler.transform(x_test))[:, 1]
    metrics = {
        "auc": float(roc_auc_score(y_test, probability)),
        "accuracy": float(accuracy_score(y_test, (probability >= 0.5).astype(int))),
        "log_loss": float(log_loss(y_test, probability)),
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "model.json").write_text(json.dumps(document, sort_keys=True) + "\n")
    digest = hashlib.sha256(data_path.read_bytes()).hexdigest()
    result = {
        "artifacts": [{"path": "model.json", "name": "model"}],
        "metrics": metrics,
        "trainingData": [{"uri": data_path.as_uri(), "sha256": digest, "description": f"{len(frame)} rows"}],
    }
    (out / "result.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"wrote {out / 'model.json'}: auc {metrics['auc']:.4f}, accuracy {metrics['accuracy']:.4f}", flush=True)


if __name__ == "__main__":
    main()
