"""Trains the small scikit-learn classifier the runtime tests serve, and records what scikit-learn itself
predicts for the test inputs, so a runtime's answers can be compared with the library's own.

Usage: python train_sklearn.py <output directory>
Writes model.joblib and expected.json ({"inputs": [[...]], "predictions": [...], "probabilities": [[...]]}).
Seeded: the same data, model and answers on every run.
"""

import json
import sys
from pathlib import Path

import joblib
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    features, labels = make_classification(
        n_samples=400, n_features=4, n_informative=3, n_redundant=0, n_classes=3, n_clusters_per_class=1, random_state=7
    )
    model = LogisticRegression(max_iter=1000, random_state=7).fit(features[:300], labels[:300])
    joblib.dump(model, out / "model.joblib")
    inputs = features[300:320]
    expected = {
        "inputs": inputs.tolist(),
        "predictions": model.predict(inputs).tolist(),
        "probabilities": model.predict_proba(inputs).tolist(),
    }
    (out / "expected.json").write_text(json.dumps(expected))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: train_sklearn.py <output directory>")
    main(Path(sys.argv[1]))
