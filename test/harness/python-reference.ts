import { ensureVenv, type PythonVenv } from './python-venv.js';

/**
 * The reference implementations Steward's numbers are checked against, live in tests and benchmarks:
 * scikit-learn (metrics), fairlearn (fairness), scipy (statistical tests), Evidently (drift reports),
 * picklescan (pickle scanning, the deny-list baseline), pyarrow (writing Parquet fixtures) and pandas.
 * Pinned so a comparison means the same thing on every machine.
 */
export const PYTHON_REFERENCE_REQUIREMENTS = [
  'numpy==2.4.6',
  'scipy==1.17.1',
  'pandas==3.1.1',
  'scikit-learn==1.9.1',
  'fairlearn==0.15.0',
  'evidently==0.7.23',
  'picklescan==1.0.5',
  'pyarrow==26.0.1',
] as const;

export function ensurePythonReference(options: { say?: (m: string) => void; env?: NodeJS.ProcessEnv } = {}): Promise<PythonVenv> {
  return ensureVenv(
    { name: 'python-reference-1', requirements: PYTHON_REFERENCE_REQUIREMENTS, purpose: 'the reference comparisons (scikit-learn, fairlearn, scipy, Evidently, picklescan)', probe: 'picklescan' },
    options,
  );
}
