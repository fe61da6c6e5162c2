/**
 * Plain decimal numbers parsed straight from bytes, to exactly the double Number() gives for the same text,
 * without making a string. A reader of a wide CSV file spends most of its time here, so the common shapes
 * (up to 19 significant digits, a small power of ten) are computed in floating point with a proof that the
 * rounding is right; the rare rest (long mantissas, far exponents, results too close to a rounding boundary
 * to decide cheaply) go through Number() on the text, which rounds correctly too.
 *
 * Two exact paths:
 * - Clinger's fast path: a mantissa below 2^53 and 10^k with |k| <= 22 are both exact doubles, so one IEEE
 *   multiplication or division rounds the true value correctly.
 * - Up to 19 digits with 0 <= -k <= 22: the mantissa m is held exactly as a sum of two doubles, q0 = m / 10^-k
 *   is one rounding away, and the residual (m - q0 * 10^-k) is computed exactly but for one last rounding
 *   (Dekker's error-free product and sum). That gives the true quotient's offset from q0 in units of q0's
 *   last place to within 1e-15; when it is not within 1e-9 of a rounding boundary (a half unit), q0 plus the
 *   offset rounds exactly as the true quotient does. Otherwise, and near a power of two where the unit
 *   changes, the text goes to Number().
 */

const SPACE = 32;
const TAB = 9;
const MINUS = 45;
const PLUS = 43;
const DOT = 46;
const ZERO = 48;
const LOWER_E = 101;
const UPPER_E = 69;

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);
const TWO_53 = 2 ** 53;
/** Digits held in the first (exact) part of the mantissa, and at most in the second. */
const FIRST_DIGITS = 15;
const MAX_DIGITS = 19;
/** Veltkamp's splitter for doubles: 2^27 + 1. */
const SPLITTER = 134217729;
/** How close (in units in the last place) to a rounding boundary the estimate may come before Number() decides. */
const MARGIN = 1e-9;

const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);
/** Index of the high word (exponent and top of the fraction) on this machine. */
const HIGH = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/** The rounding error of the product a * b (= p rounded): a * b = p + error exactly, for doubles far from overflow. */
function productError(a: number, b: number, p: number): number {
  let c = SPLITTER * a;
  const ah = c - (c - a);
  const al = a - ah;
  c = SPLITTER * b;
  const bh = c - (c - b);
  const bl = b - bh;
  return ah * bh - p + ah * bl + al * bh + al * bl;
}

/**
 * m / divisor (m = s + ml exactly, integers, 2^53 <= m < 10^19; divisor = 10^k, k <= 22) correctly rounded,
 * or NaN when the estimate is too close to a rounding boundary to be sure. (Results go through a typed array
 * here and below: a double returned from a call that is not inlined is a heap allocation per cell.)
 */
function exactQuotient(s: number, ml: number, divisor: number, out: Float64Array, at: number): void {
  const q0 = s / divisor;
  const ph = q0 * divisor;
  const pl = productError(q0, divisor, ph);
  // s - ph is exact (the two are within a factor of two), and so is adding the small integer ml.
  const offset = (s - ph + ml - pl) / divisor;
  bits[0] = q0;
  const high = words[HIGH]!;
  const low = words[1 - HIGH]!;
  const exponent = (high >>> 20) & 0x7ff;
  const fraction = high & 0xfffff;
  // Within 4 units of a power of two the unit changes size on one side: let Number() decide.
  out[at] = Number.NaN;
  if (exponent <= 53 || (fraction === 0 && low < 4) || (fraction === 0xfffff && low > 0xfffffffb)) return;
  words[HIGH] = (exponent - 52) << 20;
  words[1 - HIGH] = 0;
  const units = offset / bits[0]!;
  const beyond = units - Math.floor(units);
  if (Math.abs(units) <= 3 && Math.abs(beyond - 0.5) >= MARGIN) out[at] = q0 + offset;
}

/**
 * Parses a plain decimal ([spaces][+-]digits[.digits][e[+-]digits][spaces], at least one digit in the
 * mantissa) from buf[start, limit) into out[at] and returns where it stopped: the first byte that is not part
 * of the number (or limit). out[at] is NaN when the bytes there are not a plain decimal or are one this
 * function leaves to Number(); the caller decides from the stopping byte what the field is.
 */
export function decimalInto(buf: Uint8Array, start: number, limit: number, out: Float64Array, at: number): number {
  let p = start;
  let b = p < limit ? buf[p]! : 0;
  while (p < limit && (b === SPACE || b === TAB)) b = ++p < limit ? buf[p]! : 0;
  let negative = false;
  if (b === MINUS || b === PLUS) {
    negative = b === MINUS;
    b = ++p < limit ? buf[p]! : 0;
  }
  let first = 0; // the first FIRST_DIGITS significant digits
  let second = 0; // the next ones, up to MAX_DIGITS in all
  let digits = 0; // significant digits so far (leading zeros are not)
  let scale = 0; // power of ten: digits after the point
  let seen = false;
  let exact = true;
  let digit = b - ZERO;
  while (p < limit && digit >= 0 && digit <= 9) {
    seen = true;
    if (digits > 0 || digit !== 0) {
      if (digits < FIRST_DIGITS) first = first * 10 + digit;
      else if (digits < MAX_DIGITS) second = second * 10 + digit;
      else exact = false;
      digits++;
    }
    digit = (++p < limit ? buf[p]! : 0) - ZERO;
  }
  if (p < limit && buf[p] === DOT) {
    digit = (++p < limit ? buf[p]! : 0) - ZERO;
    while (p < limit && digit >= 0 && digit <= 9) {
      seen = true;
      if (digits > 0 || digit !== 0) {
        if (digits < FIRST_DIGITS) first = first * 10 + digit;
        else if (digits < MAX_DIGITS) second = second * 10 + digit;
        else exact = false;
        digits++;
      }
      scale--;
      digit = (++p < limit ? buf[p]! : 0) - ZERO;
    }
  }
  b = p < limit ? buf[p]! : 0;
  if (seen && (b === LOWER_E || b === UPPER_E)) {
    b = ++p < limit ? buf[p]! : 0;
    let expNegative = false;
    if (b === MINUS || b === PLUS) {
      expNegative = b === MINUS;
      b = ++p < limit ? buf[p]! : 0;
    }
    let exponent = 0;
    let expDigits = 0;
    while (p < limit && b >= ZERO && b <= 57) {
      if (exponent < 100000) exponent = exponent * 10 + (b - ZERO);
      expDigits++;
      b = ++p < limit ? buf[p]! : 0;
    }
    if (expDigits === 0) seen = false;
    scale += expNegative ? -exponent : exponent;
  }
  while (p < limit && (b === SPACE || b === TAB)) b = ++p < limit ? buf[p]! : 0;
  out[at] = Number.NaN;
  if (!seen || !exact) return p;
  if (digits === 0) {
    out[at] = negative ? -0 : 0;
    return p;
  }
  if (digits <= FIRST_DIGITS) {
    if (scale >= -22 && scale <= 22) out[at] = scale >= 0 ? first * POW10[scale]! : first / POW10[-scale]!;
  } else {
    const factor = POW10[digits - FIRST_DIGITS]!;
    const product = first * factor;
    const m = product + second;
    if (m < TWO_53) {
      // Both the product and the sum are exact below 2^53: Clinger's fast path.
      if (scale >= -22 && scale <= 22) out[at] = scale >= 0 ? m * POW10[scale]! : m / POW10[-scale]!;
    } else if (scale >= -22 && scale <= 0) {
      // m = s + ml exactly: the product's and the sum's rounding errors are small integers.
      const back = m - product;
      const ml = product - (m - back) + (second - back) + productError(first, factor, product);
      exactQuotient(m, ml, POW10[-scale]!, out, at);
    }
  }
  if (negative) out[at] = -out[at]!;
  return p;
}
