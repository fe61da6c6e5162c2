/**
 * Survival function of the one-sample two-sided Kolmogorov-Smirnov statistic D_n (scipy.stats.kstwo.sf).
 *
 * scipy's ks_2samp uses it for the asymptotic two-sample p-value: kstwo.sf(d, round(n1*n2/(n1+n2))). The
 * algorithm choice follows Simard & L'Ecuyer (2011) exactly as scipy.stats._ksstats._kolmogn does, because
 * each region uses a different method (Ruben-Gambino closed forms, the Durbin matrix, Pomeranz's recursion,
 * the Pelz-Good series and twice the one-sided Smirnov tail) and matching scipy to ~1e-10 means taking the
 * same branch.
 */
import { CompensatedSum } from './arrays.js';
import { floorOfProduct, ldexp, scaledPower, twoSum } from './float.js';

const EP128 = 2 ** 128;
const EM128 = 2 ** -128;
const EP512 = 2 ** 512;
const EM512 = 2 ** -512;
const PI_SQUARED = Math.PI ** 2;
const PI_FOUR = Math.PI ** 4;
const PI_SIX = Math.PI ** 6;
const SQRT2PI = Math.sqrt(2 * Math.PI);
const LOG_2PI = Math.log(2 * Math.PI);
const SQRT3 = Math.sqrt(3);
const MIN_LOG = -708;
// log(2^-1075): below this the one-sided tail underflows (Cephes' MINLOG).
const CEPHES_MINLOG = -7.451332191019412e2;
const SMIRNOV_MAX_COMPUTE_N = 1000000;
// 2^27 + 1: Dekker's splitter (float.ts has the same for twoProduct).
const SPLITTER = 134217729;

function clip01(p: number): number {
  if (p < 0) return 0;
  if (p > 1) return 1;
  return p;
}

// Stirling series coefficients B_2j / (2j (2j-1)), j = 8..1, highest first.
const STIRLING = [
  -0.029550653594771242, 0.00641025641025641, -0.0019175269175269176, 0.0008417508417508417,
  -0.0005952380952380953, 0.0007936507936507937, -0.002777777777777778, 0.08333333333333333,
];

/** log(n! / n^n) by Stirling's series, with n log n removed up front to avoid cancellation. */
function logFactorialOverPower(n: number): number {
  const rn = 1 / n;
  const t = rn / n;
  let poly = 0;
  for (const c of STIRLING) poly = poly * t + c;
  return Math.log(n) / 2 - n + LOG_2PI / 2 + rn * poly;
}

/**
 * P(D_n <= d) by the Durbin matrix method as arranged by Marsaglia, Tsang & Wang: the k-th diagonal entry
 * of H^n times n!/n^n. Powers of two keep the matrix entries in range; they are exact, so they do not
 * change the rounding.
 */
function durbinCdf(n: number, d: number): number {
  if (d >= 1) return 1;
  const nd = n * d;
  if (nd <= 0.5) return 0;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;

  const v = new Float64Array(m);
  const w = new Float64Array(m);
  let fac = 1;
  for (let j = 1; j <= m; j++) {
    w[j - 1] = fac;
    fac /= j;
    v[j - 1] = (1 - h ** j) * fac;
  }
  const tt = Math.max(2 * h - 1, 0) ** m - 2 * h ** m;
  v[m - 1] = (1 + tt) * fac;

  let hMatrix = new Float64Array(m * m);
  for (let i = 1; i < m; i++) {
    for (let r = i - 1; r < m; r++) hMatrix[r * m + i] = w[r - i + 1] as number;
  }
  for (let r = 0; r < m; r++) hMatrix[r * m] = v[r] as number;
  for (let c = 0; c < m; c++) hMatrix[(m - 1) * m + c] = v[m - 1 - c] as number;

  let power = new Float64Array(m * m);
  for (let i = 0; i < m; i++) power[i * m + i] = 1;
  let exponent = 0;
  let hExponent = 0;
  let nn = n;
  while (nn > 0) {
    if (nn % 2 === 1) {
      power = matmul(power, hMatrix, m);
      exponent += hExponent;
      exponent += rescale(power);
    }
    hMatrix = matmul(hMatrix, hMatrix, m);
    hExponent *= 2;
    hExponent += rescale(hMatrix);
    nn = Math.floor(nn / 2);
  }

  let p = power[(k - 1) * m + (k - 1)] as number;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < EM128) {
      p *= EP128;
      exponent -= 128;
    }
  }
  return clip01(ldexp(p, exponent));
}

/** Divide a matrix by 2^128 while its largest entry exceeds 2^128; returns the exponent taken out. */
function rescale(a: Float64Array): number {
  let taken = 0;
  for (;;) {
    let max = 0;
    for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] as number));
    if (max <= EP128) return taken;
    for (let i = 0; i < a.length; i++) a[i] = (a[i] as number) * EM128;
    taken += 128;
  }
}

function matmul(a: Float64Array, b: Float64Array, m: number): Float64Array<ArrayBuffer> {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let k = 0; k < m; k++) {
      const aik = a[i * m + k] as number;
      if (aik === 0) continue;
      for (let j = 0; j < m; j++) out[i * m + j] = (out[i * m + j] as number) + aik * (b[k * m + j] as number);
    }
  }
  return out;
}

/** The interval of row i of the Pomeranz recursion (scipy's _pomeranz_compute_j1j2). */
function pomeranzBounds(i: number, n: number, ll: number, ceilf: number, roundf: number): [number, number] {
  let j1: number;
  let j2: number;
  if (i === 0) {
    j1 = -ll - ceilf - 1;
    j2 = ll + ceilf - 1;
  } else {
    const half = Math.floor((i + 1) / 2);
    if ((i + 1) % 2 === 0) {
      if (half === n + 1) {
        j1 = n - ll - ceilf - 1;
        j2 = n + ll + ceilf - 1;
      } else {
        j1 = half - 1 - ll - roundf - 1;
        j2 = half + ll - 1 + ceilf - 1;
      }
    } else {
      j1 = half - 1 - ll - 1;
      j2 = half + ll + roundf - 1;
    }
  }
  return [Math.max(j1 + 2, 0), Math.min(j2, n)];
}

/** P(D_n <= x) by Pomeranz's recursion: 2n+1 convolutions with truncated Poisson weights. */
function pomeranzCdf(n: number, x: number): number {
  const t = n * x;
  const ll = Math.floor(t);
  const f = t - ll;
  const g = Math.min(f, 1 - f);
  const ceilf = f > 0 ? 1 : 0;
  const roundf = f > 0.5 ? 1 : 0;
  const size = 2 * (ll + 1);
  const gPower = new Float64Array(size);
  const twoGPower = new Float64Array(size);
  const oneMinusTwoGPower = new Float64Array(size);
  gPower[0] = 1;
  twoGPower[0] = 1;
  oneMinusTwoGPower[0] = 1;
  const gOverN = g / n;
  const twoGOverN = (2 * g) / n;
  const oneMinusTwoGOverN = (1 - 2 * g) / n;
  for (let m = 1; m < size; m++) {
    gPower[m] = ((gPower[m - 1] as number) * gOverN) / m;
    twoGPower[m] = ((twoGPower[m - 1] as number) * twoGOverN) / m;
    oneMinusTwoGPower[m] = ((oneMinusTwoGPower[m - 1] as number) * oneMinusTwoGOverN) / m;
  }

  let v0 = new Float64Array(size);
  let v1 = new Float64Array(size);
  v1[0] = 1;
  let v0s = 0;
  let v1s = 0;
  let exponent = 0;
  let [j1, j2] = pomeranzBounds(0, n, ll, ceilf, roundf);
  for (let i = 1; i < 2 * n + 2; i++) {
    const k1 = j1;
    [v0, v1] = [v1, v0];
    [v0s, v1s] = [v1s, v0s];
    v1.fill(0);
    [j1, j2] = pomeranzBounds(i, n, ll, ceilf, roundf);
    const weights = i === 1 || i === 2 * n + 1 ? gPower : i % 2 === 1 ? twoGPower : oneMinusTwoGPower;
    const len = j2 - k1 + 1;
    if (len > 0) {
      const start = k1 - v0s;
      const convStart = j1 - k1;
      const convLen = j2 - j1 + 1;
      let max = 0;
      for (let c = 0; c < convLen; c++) {
        const tIndex = convStart + c;
        let s = 0;
        for (let a = Math.max(0, tIndex - len + 1); a <= Math.min(tIndex, len - 1); a++) {
          s += (v0[start + a] ?? 0) * (weights[tIndex - a] as number);
        }
        v1[c] = s;
        if (s > max) max = s;
      }
      if (max > 0 && max < EM128) {
        for (let c = 0; c < size; c++) v1[c] = (v1[c] as number) * EP128;
        exponent -= 128;
      }
      v1s = v0s + j1 - k1;
    }
  }
  let answer = v1[n - v1s] as number;
  for (let m = 1; m <= n; m++) {
    if (Math.abs(answer) > EP128) {
      answer *= EM128;
      exponent += 128;
    }
    answer *= m;
  }
  return clip01(ldexp(answer, exponent));
}

/**
 * Pelz-Good asymptotic series for P(D_n <= x): the Li-Chien/Korolyuk expansion K0 + K1/sqrt(n) +
 * K2/n + K3/n^1.5, transformed with Jacobi theta identities so it converges for small x*sqrt(n).
 */
function pelzGoodCdf(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z ** 2;
  const z3 = z ** 3;
  const z4 = z ** 4;
  const z6 = z ** 6;
  const qlog = -PI_SQUARED / 8 / z2;
  if (qlog < MIN_LOG) return 0;
  let q = Math.exp(qlog);

  const k1a = -z2;
  const k1b = PI_SQUARED / 4;
  const k2a = 6 * z6 + 2 * z4;
  const k2b = ((2 * z4 - 5 * z2) * PI_SQUARED) / 4;
  const k2c = (PI_FOUR * (1 - 2 * z2)) / 16;
  const k3d = (PI_SIX * (5 - 30 * z2)) / 64;
  const k3c = (PI_FOUR * (-60 * z2 + 212 * z4)) / 16;
  const k3b = (PI_SQUARED * (135 * z4 - 96 * z6)) / 4;
  const k3a = -30 * z6 - 90 * z ** 8;

  const terms = [0, 0, 0, 0];
  const maxk = Math.ceil((16 * z) / Math.PI);
  for (let k = maxk; k > 0; k--) {
    const m = 2 * k - 1;
    const m2 = m ** 2;
    const m4 = m ** 4;
    const m6 = m ** 6;
    const qpower = q ** (8 * k);
    const coeffs = [1, k1a + k1b * m2, k2a + k2b * m2 + k2c * m4, k3a + k3b * m2 + k3c * m4 + k3d * m6];
    for (let i = 0; i < 4; i++) terms[i] = (terms[i] as number) * qpower + (coeffs[i] as number);
  }
  const divisors = [z, 6 * z4, 72 * z ** 7, 6480 * z ** 10];
  for (let i = 0; i < 4; i++) terms[i] = (((terms[i] as number) * q) * SQRT2PI) / (divisors[i] as number);

  q = Math.exp(-PI_SQUARED / 2 / z2);
  const sqrt3z = SQRT3 * z;
  let k2extra = 0;
  let k3extra = 0;
  for (let k = maxk; k > 0; k--) {
    const k2 = k ** 2;
    const qk = q ** k2;
    const kpi = Math.PI * k;
    k2extra += k2 * qk;
    k3extra += (sqrt3z + kpi) * (sqrt3z - kpi) * k2 * qk;
  }
  terms[2] = (terms[2] as number) + k2extra * ((PI_SQUARED * SQRT2PI) / (-36 * z3));
  terms[3] = (terms[3] as number) + k3extra * ((PI_SQUARED * SQRT2PI) / (216 * z6));
  let sum = 0;
  for (let i = 0; i < 4; i++) sum += (terms[i] as number) / n ** (i / 2);
  return sum;
}

/** (a + b)^m with the base kept as a double-double, as a plain double. */
function powerOfSum(a: number, b: number, m: number): number {
  const p = scaledPower(twoSum(a, b), m);
  return ldexp(p.mantissa, p.exponent);
}

/**
 * One-sided Smirnov tail P(D_n^+ >= x) (scipy.special.smirnov) by the Birnbaum-Tingey sum
 *   sum_{v=0}^{floor(n(1-x))} C(n, v) x (x + v/n)^(v-1) (1 - x - v/n)^(n-v),
 * every term positive. Bases are double-doubles and the binomial a scaled number, because the powers reach
 * n ~ 10^6 and would otherwise multiply one rounding by the exponent.
 */
export function smirnovSf(n: number, x: number): number {
  if (!(n > 0 && x >= 0 && x <= 1)) return Number.NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;
  const { floor: nxFloor, fraction: alpha } = floorOfProduct(n, x);
  // The sum runs over v with 1 - x - v/n > 0, i.e. v <= n - floor(n x) - 1 (also when n x is an integer).
  const lastV = n - nxFloor - 1;
  if (nxFloor === 0 || (nxFloor === 1 && alpha === 0)) {
    return clip01(1 - x * powerOfSum(1, x, n - 1));
  }
  if (-2 * n * x * x < CEPHES_MINLOG) return 0;
  if (nxFloor >= n - 1) return clip01(powerOfSum(1, -x, n));
  if (n > SMIRNOV_MAX_COMPUTE_N) {
    // p ~ exp(-(6nx + 1)^2 / 18n), scipy's shortcut for very large n.
    const logp = -((6 * n * x + 1) ** 2) / 18 / n;
    return clip01(logp < -Math.LN2 ? Math.exp(logp) : 1 + Math.expm1(logp));
  }

  const sum = new CompensatedSum();
  sum.add(powerOfSum(1, -x, n));
  const terms = lastV + 1;
  const middle = Math.floor(n / 2);
  // Each term in logarithms: one log per base instead of a double-double power by squaring (~40 products) per
  // factor, which was most of a drift window's time at n ~ 10^6. The bases are double-doubles and their low
  // words enter as lo/hi, so the exponents multiply only the logarithms' own rounding (~1e-16 relative): each
  // term lands within ~1e-11 of the exact one, and the terms are positive, so the sum does too.
  const logX = Math.log(x);
  // C(n, v) = binomial * 2^binomialExponent, from C(n, 1) = n; rescaled by exact powers of two, so the only
  // rounding is one per step of the product, not one per step of a large running sum of logarithms.
  let binomial = n;
  let binomialExponent = 0;
  // n split in two 26-bit halves for Dekker's exact product q * n (JS has no fma), inlined: no allocation per term.
  const nSplit = SPLITTER * n;
  const nHigh = nSplit - (nSplit - n);
  const nLow = n - nHigh;
  for (let v = 1; v < terms; v++) {
    const q = v / n; // v/n = q + qLow
    const product = q * n;
    const qSplit = SPLITTER * q;
    const qHigh = qSplit - (qSplit - q);
    const qLowPart = q - qHigh;
    const productError = qHigh * nHigh - product + qHigh * nLow + qLowPart * nHigh + qLowPart * nLow;
    const qLow = (v - product - productError) / n;
    // Knuth's TwoSum for x + v/n and for 1 - (x + v/n), inlined: each base as hi + low.
    const upperHi = q + x;
    const upperB = upperHi - q;
    const upperLow = q - (upperHi - upperB) + (x - upperB) + qLow;
    const lowerHi = 1 - upperHi;
    const lowerB = lowerHi - 1;
    const lowerLow = 1 - (lowerHi - lowerB) + (-upperHi - lowerB) - upperLow;
    const logUpper = Math.log(upperHi) + upperLow / upperHi;
    const logLower = Math.log(lowerHi) + lowerLow / lowerHi;
    const logBinomial = Math.log(binomial) + binomialExponent * Math.LN2;
    const term = Math.exp(logX + logBinomial + (v - 1) * logUpper + (n - v) * logLower);
    if (Number.isFinite(term) && term !== 0) sum.add(term);
    // Stop once the remaining terms cannot reach the last bit (terms fall off past the peak).
    if (term !== 0) {
      if (4 * (terms - v) * Math.abs(term) < Number.EPSILON * sum.value && v !== terms - 1) break;
    } else if (v > middle) {
      break;
    }
    binomial *= (n - v) / (v + 1);
    if (binomial > EP512) {
      binomial *= EM512;
      binomialExponent += 512;
    } else if (binomial < EM512) {
      binomial *= EP512;
      binomialExponent -= 512;
    }
  }
  return clip01(sum.value);
}

/**
 * P(D_n > x) for the one-sample two-sided Kolmogorov-Smirnov statistic, n >= 1 an integer
 * (scipy.stats.kstwo.sf(x, n), i.e. scipy.stats._ksstats._kolmogn(n, x, cdf=False)).
 */
export function kolmogorovSf(n: number, x: number): number {
  if (!Number.isInteger(n) || n <= 0 || Number.isNaN(x)) return Number.NaN;
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    // Ruben-Gambino: 1/(2n) <= x <= 1/n.
    if (t <= 0.5) return 1;
    let prob: number;
    if (n <= 140) {
      prob = 1;
      const base = 2 * t - 1;
      for (let i = 1; i <= n; i++) prob *= i * (1 / n) * base;
    } else {
      prob = Math.exp(logFactorialOverPower(n) + n * Math.log(2 * t - 1));
    }
    return clip01(1 - prob);
  }
  if (t >= n - 1) return clip01(2 * (1 - x) ** n);
  if (x >= 0.5) return clip01(2 * smirnovSf(n, x));

  const nx2 = t * x;
  if (n <= 140) {
    if (nx2 <= 0.754693) return clip01(1 - durbinCdf(n, x));
    if (nx2 <= 4) return clip01(1 - pomeranzCdf(n, x));
    return clip01(2 * smirnovSf(n, x));
  }
  if (nx2 >= 370) return 0;
  if (nx2 >= 2.2) return clip01(2 * smirnovSf(n, x));
  let cdf: number;
  if (nx2 >= 18) cdf = 1;
  else if (n <= 100000 && n * x ** 1.5 <= 1.4) cdf = durbinCdf(n, x);
  else cdf = pelzGoodCdf(n, x);
  return clip01(1 - cdf);
}
