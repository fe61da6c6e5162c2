/**
 * Exact floating-point building blocks. The Kolmogorov-Smirnov tail sums raise numbers close to 1 to
 * powers in the hundreds of thousands, where one rounding of the base is multiplied by the exponent; these
 * helpers keep the extra bits (double-double values, power-of-two scaling) that scipy's C code keeps.
 */

/** A double-double number hi + lo with |lo| <= ulp(hi) / 2. */
export interface DoubleDouble {
  readonly hi: number;
  readonly lo: number;
}

/** a + b exactly, as a rounded sum and its rounding error (Knuth's TwoSum). */
export function twoSum(a: number, b: number): DoubleDouble {
  const s = a + b;
  const bb = s - a;
  return { hi: s, lo: a - (s - bb) + (b - bb) };
}

// 2^27 + 1: splits a double into two 26-bit halves whose products are exact (Dekker).
const SPLITTER = 134217729;

function split(a: number): [number, number] {
  const t = SPLITTER * a;
  const hi = t - (t - a);
  return [hi, a - hi];
}

/** a * b exactly, as a rounded product and its rounding error (Dekker's TwoProduct; JS has no fma). */
export function twoProduct(a: number, b: number): DoubleDouble {
  const p = a * b;
  const [ah, al] = split(a);
  const [bh, bl] = split(b);
  return { hi: p, lo: ah * bh - p + ah * bl + al * bh + al * bl };
}

/** Renormalise hi + lo so that hi is the rounded sum. */
function quickTwoSum(a: number, b: number): DoubleDouble {
  const s = a + b;
  return { hi: s, lo: b - (s - a) };
}

/** a + b for a double-double a and a double b. */
export function ddAddDouble(a: DoubleDouble, b: number): DoubleDouble {
  const s = twoSum(a.hi, b);
  return quickTwoSum(s.hi, s.lo + a.lo);
}

/** The integer k divided by n as a double-double (k, n integers below 2^53). */
export function ddRatio(k: number, n: number): DoubleDouble {
  const q = k / n;
  const p = twoProduct(q, n);
  // k - q*n is exact in double because q*n is within one rounding of k.
  const remainder = k - p.hi - p.lo;
  return quickTwoSum(q, remainder / n);
}

/** floor(n * x) and the fractional part n * x - floor(n * x), computed from the exact product. */
export function floorOfProduct(n: number, x: number): { readonly floor: number; readonly fraction: number } {
  const p = twoProduct(n, x);
  let fl = Math.floor(p.hi);
  let fraction = p.hi - fl + p.lo;
  if (fraction < 0) {
    fl -= 1;
    fraction += 1;
  }
  if (fraction >= 1) {
    fl += 1;
    fraction = 0;
  }
  return { floor: fl, fraction };
}

// Bit access to doubles, for frexp/ldexp without logarithms (they sit in the inner loop of the Smirnov sum).
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const HIGH = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/** 2^k for an integer k in the normal range [-1022, 1023], built from its bits. */
function powerOfTwo(k: number): number {
  u32[HIGH] = (k + 1023) << 20;
  u32[1 - HIGH] = 0;
  return f64[0] as number;
}

/** x * 2^e without overflowing or underflowing the scale factor itself. */
export function ldexp(x: number, e: number): number {
  if (e >= -1022 && e <= 1023) return x * powerOfTwo(e);
  let v = x;
  let k = e;
  while (k > 1000) {
    v *= 2 ** 1000;
    k -= 1000;
  }
  while (k < -1000) {
    v *= 2 ** -1000;
    k += 1000;
    if (v === 0) return v;
  }
  return v * 2 ** k;
}

/** A finite non-zero x as mantissa in [0.5, 1) (in absolute value) times 2^exponent; 0, ±Infinity and NaN come back as is. */
export function frexp(x: number): { readonly mantissa: number; readonly exponent: number } {
  if (x === 0 || !Number.isFinite(x)) return { mantissa: x, exponent: 0 };
  f64[0] = x;
  const high = u32[HIGH] as number;
  const biased = (high >>> 20) & 0x7ff;
  if (biased === 0) {
    // Subnormal: scale into the normal range first.
    const inner = frexp(x * 2 ** 64);
    return { mantissa: inner.mantissa, exponent: inner.exponent - 64 };
  }
  u32[HIGH] = (high & 0x800fffff) | (1022 << 20);
  return { mantissa: f64[0] as number, exponent: biased - 1022 };
}

/** A number kept as mantissa * 2^exponent so that huge binomials and tiny powers can be multiplied. */
export interface Scaled {
  readonly mantissa: number;
  readonly exponent: number;
}

function scaledMultiply(a: Scaled, b: Scaled): Scaled {
  const f = frexp(a.mantissa * b.mantissa);
  return { mantissa: f.mantissa, exponent: f.exponent + a.exponent + b.exponent };
}

// Keep every intermediate power above 2^-960 so that both halves of a double-double stay normal.
const MAX_EXPONENT = 960;

/** y^m for a mantissa y in [0.5, 1) and an integer m >= 0, split into chunks that do not underflow. */
function scaledMantissaPower(y: number, m: number): Scaled {
  if (m === 0) return { mantissa: 0.5, exponent: 1 };
  // y >= 0.5, so y^m >= 2^-m: no chunking needed up to m = 960.
  if (m <= MAX_EXPONENT) return frexp(y ** m);
  const chunk = Math.floor(MAX_EXPONENT / -Math.log2(y));
  if (m <= chunk) return frexp(y ** m);
  const q = Math.floor(m / chunk);
  const r = m - q * chunk;
  const block = frexp(y ** chunk);
  const blocks = scaledMantissaPower(block.mantissa, q);
  const rest = frexp(y ** r);
  return scaledMultiply({ mantissa: blocks.mantissa, exponent: blocks.exponent + q * block.exponent }, rest);
}

/**
 * (hi + lo)^m for a positive double-double base and an integer m >= 0, as a scaled number. The low part
 * enters as the first-order correction (1 + lo/hi)^m, as scipy's pow_D does.
 */
export function scaledPower(base: DoubleDouble, m: number): Scaled {
  if (m === 0) return { mantissa: 0.5, exponent: 1 };
  if (base.hi === 0) return { mantissa: 0, exponent: 0 };
  const f = frexp(base.hi);
  const p = scaledMantissaPower(f.mantissa, m);
  const r = base.lo / base.hi;
  let adjust = m * r;
  if (Math.abs(adjust) > 1e-8) {
    adjust = Math.abs(adjust) < 1e-4 ? adjust + m * r * (((m - 1) / 2) * r) : Math.expm1(m * Math.log1p(r));
  }
  const corrected = frexp(p.mantissa + p.mantissa * adjust);
  return { mantissa: corrected.mantissa, exponent: corrected.exponent + p.exponent + m * f.exponent };
}

/** Round half to even, as numpy's np.round does for the 0-decimal case. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  if (Math.abs(x % 1) === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}
