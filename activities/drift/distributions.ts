/**
 * Normal and chi-square tails, as scipy evaluates them for Evidently's Z and chi-square tests. The special
 * functions come from stdlib (well-tested ports of the same Cephes/Boost algorithms scipy uses); only the
 * way scipy combines them is reproduced here, because that decides the rounding of small p-values.
 */
import erf from '@stdlib/math-base-special-erf';
import erfc from '@stdlib/math-base-special-erfc';
import gammainc from '@stdlib/math-base-special-gammainc';

/**
 * Standard normal CDF with the branch structure of Cephes' ndtr (scipy.special.ndtr, hence
 * scipy.stats.norm.cdf): erf near zero, erfc in the tails.
 */
export function normalCdf(a: number): number {
  if (Number.isNaN(a)) return Number.NaN;
  const x = a * Math.SQRT1_2;
  const z = Math.abs(x);
  if (z < 1) return 0.5 + 0.5 * erf(x);
  const y = 0.5 * erfc(z);
  return x > 0 ? 1 - y : y;
}

/**
 * Chi-square survival function P(X > x) with df degrees of freedom (scipy.special.chdtrc): the regularized
 * upper incomplete gamma function Q(df/2, x/2).
 */
export function chiSquareSf(x: number, df: number): number {
  if (Number.isNaN(x) || Number.isNaN(df)) return Number.NaN;
  if (x < 0) return 1;
  if (x === Number.POSITIVE_INFINITY) return 0;
  return gammainc(x / 2, df / 2, true, true);
}
