/**
 * Which globals a pickle may import. Loading a pickle calls whatever its GLOBAL / INST / STACK_GLOBAL opcodes
 * name, so a deny-list only stops the calls someone thought of (picklescan missed pip.main, importlib and
 * pkgutil.resolve_name). Here everything not on the allow-list is `high`; the deny-list only decides which of
 * those are `critical` because they run code, open files or sockets, or resolve further names.
 */

/** Exact `module.name` globals that only rebuild data. */
const ALLOWED_EXACT = new Set([
  // numpy arrays, scalars and dtypes (numpy 1.x `numpy.core`, 2.x `numpy._core`)
  ...['numpy.core', 'numpy._core'].flatMap((m) => [
    `${m}.multiarray._reconstruct`,
    `${m}.multiarray.scalar`,
    `${m}.numeric._frombuffer`,
    `${m}.multiarray.ndarray`,
  ]),
  'numpy.ndarray',
  'numpy.dtype',
  'numpy.ma.core._mareconstruct',
  'numpy.ma.core.MaskedArray',
  'numpy.random._pickle.__randomstate_ctor',
  'numpy.random._pickle.__generator_ctor',
  'numpy.random._pickle.__bit_generator_ctor',
  'numpy.random.__RandomState_ctor',
  // joblib writes arrays as a wrapper followed by their raw bytes
  'joblib.numpy_pickle.NumpyArrayWrapper',
  'joblib.numpy_pickle_compat.NDArrayWrapper',
  'sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper',
  // scikit-learn functions that appear in fitted estimators
  'sklearn.neighbors._kd_tree.newObj',
  'sklearn.neighbors._ball_tree.newObj',
  'sklearn.metrics._scorer._passthrough_scorer',
  // containers, numbers and the standard rebuilders of objects
  'collections.OrderedDict',
  'collections.defaultdict',
  'collections.deque',
  'collections.Counter',
  'copyreg._reconstructor',
  'copy_reg._reconstructor',
  'copyreg.__newobj__',
  '_codecs.encode',
  'datetime.datetime',
  'datetime.date',
  'datetime.time',
  'datetime.timedelta',
  'datetime.timezone',
  'decimal.Decimal',
  'fractions.Fraction',
  ...['builtins', '__builtin__'].flatMap((m) =>
    ['set', 'frozenset', 'bytearray', 'bytes', 'complex', 'slice', 'range', 'list', 'dict', 'tuple', 'int', 'float', 'bool', 'str', 'object', 'unicode', 'long'].map(
      (n) => `${m}.${n}`,
    ),
  ),
  // torch checkpoints: tensors, parameters and typed storages (data.pkl of a .pt zip)
  'torch._utils._rebuild_tensor',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor_v3',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  'torch._utils._rebuild_qtensor',
  'torch._utils._rebuild_sparse_tensor',
  'torch._tensor._rebuild_from_type_v2',
  'torch.Tensor',
  'torch.Size',
  'torch.device',
  'torch.storage.UntypedStorage',
  'torch.storage.TypedStorage',
  'torch.nn.parameter.Parameter',
  ...[
    'Float', 'Double', 'Half', 'BFloat16', 'Long', 'Int', 'Short', 'Char', 'Byte', 'Bool', 'ComplexFloat', 'ComplexDouble', 'QInt8', 'QUInt8', 'QInt32', 'Untyped',
  ].map((t) => `torch.${t}Storage`),
  ...[
    'float16', 'float32', 'float64', 'bfloat16', 'int8', 'int16', 'int32', 'int64', 'uint8', 'bool', 'complex64', 'complex128', 'half', 'float', 'double', 'long', 'int', 'short',
  ].map((t) => `torch.${t}`),
]);

/** numpy scalar types, pickled as globals by some code paths. */
const NUMPY_SCALARS = /^numpy\.(bool_?|u?int(8|16|32|64)|float(16|32|64|128)|complex(64|128|256)|str_|bytes_|object_|datetime64|timedelta64|longdouble|intc|uintc|intp|uintp)$/;

/**
 * Module families whose classes only hold data once built: a class (CapitalisedName) from these is allowed,
 * a function from them is not (functions are where side effects live). scipy.sparse classes are lower-case.
 */
const CLASS_MODULES = [/^sklearn(\.[A-Za-z0-9_]+)*$/, /^numpy\.dtypes$/, /^numpy\.random(\.[A-Za-z0-9_]+)*$/, /^torch\.nn\.modules(\.[A-Za-z0-9_]+)*$/];
const SCIPY_SPARSE = /^scipy\.sparse(\.[A-Za-z0-9_]+)*\.[a-z]{3}_(matrix|array)$/;

/** Modules every global of which is critical: process, file, network, import machinery and interpreters. */
const CRITICAL_MODULES = new Set([
  'os', 'posix', 'nt', 'posixpath', 'ntpath', 'subprocess', 'sys', 'socket', 'shutil', 'importlib', 'runpy', 'pip', 'code', 'codeop', 'pty', 'webbrowser', 'pydoc',
  'ctypes', 'multiprocessing', 'asyncio', 'pickle', '_pickle', 'cPickle', 'dill', 'marshal', 'types', 'pkgutil', 'imp', 'zipimport', 'site', 'ensurepip',
  'venv', 'distutils', 'setuptools', 'bdb', 'pdb', 'timeit', 'cProfile', 'profile', 'trace', 'tempfile', 'glob', 'io', '_io', 'signal', 'requests', 'urllib',
  'urllib2', 'http', 'httplib', 'ftplib', 'telnetlib', 'smtplib', 'xmlrpc', 'commands', 'popen2', 'platform', 'inspect', 'idlelib', 'lib2to3', '_posixsubprocess',
  'builtins.eval', 'torch.storage._load_from_bytes', 'torch.serialization', 'torch.hub', 'torch.jit', 'numpy.testing', 'numpy.load', 'numpy.lib.npyio',
  'uuid._get_command_stdout', 'functools.partial', 'functools.reduce', 'joblib.load', 'joblib.numpy_pickle.load', 'pandas.read_pickle',
]);

/** Calls from otherwise harmless modules that run code or reach any attribute. */
const CRITICAL_EXACT = new Set([
  ...['builtins', '__builtin__'].flatMap((m) =>
    ['eval', 'exec', 'execfile', 'compile', 'getattr', 'setattr', 'delattr', '__import__', 'open', 'input', 'breakpoint', 'globals', 'locals', 'vars', 'apply', 'file', 'reload'].map(
      (n) => `${m}.${n}`,
    ),
  ),
  'operator.attrgetter',
  'operator.methodcaller',
  'operator.getitem',
  '_operator.attrgetter',
  '_operator.methodcaller',
]);

export type ImportVerdict = 'allowed' | 'high' | 'critical';

export function judgeImport(module: string, name: string): ImportVerdict {
  const full = `${module}.${name}`;
  // A dotted name reaches attributes of the import (`os.path` from `builtins`, `system` through `os.path`):
  // judged by its first part, so `numpy.core.multiarray._reconstruct.__globals__` is not an allowed rebuilder.
  if (!name.includes('.')) {
    if (ALLOWED_EXACT.has(full) || NUMPY_SCALARS.test(full) || SCIPY_SPARSE.test(full)) return 'allowed';
    if (/^[A-Z][A-Za-z0-9_]*$/.test(name) && CLASS_MODULES.some((m) => m.test(module))) return 'allowed';
  }
  if (CRITICAL_EXACT.has(`${module}.${name.split('.')[0]}`)) return 'critical';
  const parts = module.split('.');
  for (let i = 1; i <= parts.length; i++) if (CRITICAL_MODULES.has(parts.slice(0, i).join('.'))) return 'critical';
  for (let i = 1; i <= name.split('.').length; i++) if (CRITICAL_MODULES.has(`${module}.${name.split('.').slice(0, i).join('.')}`)) return 'critical';
  return 'high';
}
