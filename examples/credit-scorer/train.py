"""Trains the credit-scorer example and exports it to ONNX for Steward's built-in runtime.

How the committed files were produced (Python 3.11, in a throwaway virtual environment):

    python -m venv /tmp/venv && /tmp/venv/bin/pip install scikit-learn skl2onnx onnx onnxruntime
    /tmp/venv/bin/python examples/credit-scorer/train.py

It writes, beside this script:
  model.onnx                 a StandardScaler + LogisticRegression pipeline, converted with skl2onnx (zipmap
                             disabled); one FP32 input `features` of shape [N, 5] (the columns below, in order)
                             and two outputs: `label` (INT64, 1 = default) and `probability` (FP32, the
                             probability of default, scikit-learn's predict_proba(X)[:, 1])
  reference.csv              a sample of the training data, the drift monitor's baseline
  request.json               an Open Inference Protocol V2 request: curl it to /v2/models/<name>/infer
  expected-predictions.json  scikit-learn's own predictions for request.json's rows (the runtime's test
                             compares onnxruntime-node's answers with these)

The data is synthetic and seeded, so every run writes the same data; the ONNX bytes can still differ between
skl2onnx versions, so update the sha256 in manifest.yaml after re-running.
"""

import csv
import json
import re
from pathlib import Path

import numpy as np
import onnx
from onnx import helper
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HERE = Path(__file__).resolve().parent
FEATURES = ["income", "debt_to_income", "credit_utilization", "years_employed", "late_payments"]
SEED = 20251201


def synthetic_applications(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    income = np.round(rng.lognormal(mean=10.8, sigma=0.45, size=n), 0)
    debt_to_income = np.round(np.clip(rng.beta(2.2, 5.0, size=n), 0.0, 1.0), 3)
    credit_utilization = np.round(np.clip(rng.beta(2.0, 3.0, size=n), 0.0, 1.0), 3)
    years_employed = np.round(np.clip(rng.gamma(2.0, 3.0, size=n), 0.0, 45.0), 1)
    late_payments = rng.poisson(0.6, size=n).astype(float)
    logit = (
        -1.2
        - 0.9 * (np.log(income) - 10.8)
        + 4.0 * (debt_to_income - 0.3)
        + 2.2 * (credit_utilization - 0.4)
        - 0.08 * years_employed
        + 0.7 * late_payments
    )
    default = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    x = np.column_stack([income, debt_to_income, credit_utilization, years_employed, late_payments]).astype(np.float32)
    return x, default


def probability_output(model: onnx.ModelProto) -> onnx.ModelProto:
    """Replaces the [N, 2] `probabilities` output with `probability`, the default class's column, shape [N]."""
    graph = model.graph
    graph.initializer.append(helper.make_tensor("positive_class", onnx.TensorProto.INT64, [], [1]))
    graph.node.append(helper.make_node("Gather", ["probabilities", "positive_class"], ["probability"], axis=1, name="probability_of_default"))
    kept = [o for o in graph.output if o.name != "probabilities"]
    del graph.output[:]
    graph.output.extend(kept)
    graph.output.append(helper.make_tensor_value_info("probability", onnx.TensorProto.FLOAT, [None]))
    onnx.checker.check_model(model)
    return model


def compact_json(value: object) -> str:
    """Indented JSON with each innermost list (one row) on one line, for reading and curling."""
    text = json.dumps(value, indent=2)
    return re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + re.sub(r",\s+", ", ", m.group(1)) + "]", text) + "\n"


def main() -> None:
    rng = np.random.default_rng(SEED)
    x, y = synthetic_applications(4000, rng)
    train, held_out = slice(0, 3000), slice(3000, None)
    pipeline = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    pipeline.fit(x[train], y[train])
    # The manifest's metrics: the standard template's test gate judges auc.
    auc = roc_auc_score(y[held_out], pipeline.predict_proba(x[held_out])[:, 1])
    accuracy = accuracy_score(y[held_out], pipeline.predict(x[held_out]))
    print(f"held-out auc {auc:.3f}, accuracy {accuracy:.3f}, default rate {y.mean():.3f}")

    onx = to_onnx(
        pipeline,
        initial_types=[("features", FloatTensorType([None, len(FEATURES)]))],
        options={id(pipeline.steps[-1][1]): {"zipmap": False}},
        target_opset=17,
    )
    onx = probability_output(onx)
    onx.doc_string = "credit-scorer: probability of default from " + ", ".join(FEATURES)
    (HERE / "model.onnx").write_bytes(onx.SerializeToString())

    with open(HERE / "reference.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(FEATURES + ["default"])
        for row, label in zip(x[:500], y[:500]):
            writer.writerow([str(v) for v in row] + [int(label)])

    rows = x[-8:]
    # str() of a float32 is its shortest decimal, which reads back as the same float32.
    data = [[float(str(v)) for v in row] for row in rows]
    request = {
        "id": "credit-scorer-example",
        "inputs": [{"name": "features", "shape": [len(rows), len(FEATURES)], "datatype": "FP32", "data": data}],
    }
    (HERE / "request.json").write_text(compact_json(request))
    expected = {
        "features": FEATURES,
        "rows": data,
        "label": pipeline.predict(rows).tolist(),
        "probability": pipeline.predict_proba(rows)[:, 1].tolist(),
        "metrics": {"auc": round(auc, 3), "accuracy": round(accuracy, 3)},
    }
    (HERE / "expected-predictions.json").write_text(json.dumps(expected, indent=2) + "\n")
    for row, label, p in zip(data, expected["label"], expected["probability"]):
        print(row, label, round(p, 6))


if __name__ == "__main__":
    main()
