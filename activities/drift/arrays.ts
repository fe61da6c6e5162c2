/**
 * Small array helpers shared by the drift statistics: binary search in sorted arrays (numpy's searchsorted)
 * and a compensated sum, which keeps long sums within a few ulps of numpy's pairwise summation.
 */

/** Number of elements of the ascending array a that are < v (numpy searchsorted side='left'). */
export function lowerBound(a: Float64Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Number of elements of the ascending array a that are <= v (numpy searchsorted side='right'). */
export function upperBound(a: Float64Array, v: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Neumaier's compensated summation: an accumulator whose error does not grow with the number of terms. */
export class CompensatedSum {
  private sum = 0;
  private compensation = 0;

  add(x: number): void {
    const t = this.sum + x;
    if (!Number.isFinite(t)) {
      // An infinite (or NaN) term decides the sum; the rounding terms would turn it into NaN.
      this.sum = t;
      return;
    }
    if (Math.abs(this.sum) >= Math.abs(x)) this.compensation += this.sum - t + x;
    else this.compensation += x - t + this.sum;
    this.sum = t;
  }

  get value(): number {
    if (!Number.isFinite(this.sum)) return this.sum;
    return this.sum + this.compensation;
  }
}

export function compensatedSum(values: ArrayLike<number>): number {
  const acc = new CompensatedSum();
  for (let i = 0; i < values.length; i++) acc.add(values[i] as number);
  return acc.value;
}

/** Compare strings by Unicode code point, as Python's sorted() does (JS's < compares UTF-16 units). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.codePointAt(i) as number;
    const cb = b.codePointAt(i) as number;
    if (ca !== cb) return ca < cb ? -1 : 1;
    if (ca > 0xffff) i++;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}
