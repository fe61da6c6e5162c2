import type { InferenceResponse, Tensor } from '../../runtimes/protocol.js';

export interface Tolerance {
  /** Numbers agree when |a - b| <= absolute + relative * |a|. */
  readonly absolute: number;
  readonly relative: number;
}

export const DEFAULT_TOLERANCE: Tolerance = { absolute: 1e-6, relative: 1e-4 };

/**
 * Whether a shadow answered as the champion did: the same output tensors by name (order does not matter),
 * the same shapes, and every element equal, numbers within the tolerance (runtimes and float widths differ
 * in the last digits), everything else exactly.
 */
export function outputsAgree(champion: InferenceResponse, shadow: InferenceResponse, tolerance: Tolerance = DEFAULT_TOLERANCE): boolean {
  if (champion.outputs.length !== shadow.outputs.length) return false;
  const byName = new Map(shadow.outputs.map((t) => [t.name, t]));
  return champion.outputs.every((a) => {
    const b = byName.get(a.name);
    return b !== undefined && tensorsAgree(a, b, tolerance);
  });
}

function tensorsAgree(a: Tensor, b: Tensor, tolerance: Tolerance): boolean {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return false;
  const x = a.data.flat(Infinity);
  const y = b.data.flat(Infinity);
  if (x.length !== y.length) return false;
  return x.every((v, i) => valuesAgree(v, y[i], tolerance));
}

function valuesAgree(a: unknown, b: unknown, { absolute, relative }: Tolerance): boolean {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
    return Math.abs(a - b) <= absolute + relative * Math.abs(a);
  }
  // A boolean output may come back as 0/1 from one runtime and true/false from another.
  if (typeof a === 'boolean' || typeof b === 'boolean') return Number(a) === Number(b);
  return a === b;
}
