/**
 * Ascending sort of finite float64 values: an LSD radix sort on the high 32 bits of each value's bit pattern
 * (sign, exponent and the top 20 mantissa bits: two 16-bit passes, O(n)), then one pass that orders each run
 * of equal high words by value. On the million-value columns drift compares, a run is almost always one or
 * two values, so this does half the scatter passes of a full 64-bit radix sort; a long run (many values
 * within 2^-20 of each other but not equal) is handed to the native sort, so no input is quadratic.
 * Sorting is the bulk of preparing a window, so this is where the time goes.
 */

const SMALL = 2048;
const RADIX = 1 << 16;
/** Runs up to this long are insertion-sorted in place; longer ones go to the native sort. */
const SHORT_RUN = 24;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Scratch space reused across calls (one window after another): no 16 MB allocation per sort. */
let scratch = new Uint32Array(0);
const counts = new Uint32Array(2 * RADIX);

/** Sorts `values` (no NaN) in place, ascending, -0 before +0 as the native sort orders them. */
export function sortFloat64(values: Float64Array): void {
  const n = values.length;
  if (n < SMALL || !LITTLE_ENDIAN) {
    values.sort();
    return;
  }
  // Each value as two 32-bit words [low, high]. Flipping the sign bit of a positive high word and every bit
  // of a negative one makes the unsigned order of high words the numeric order of the values' high parts.
  const words = new Uint32Array(values.buffer, values.byteOffset, n * 2);
  counts.fill(0);
  for (let i = 0; i < n; i++) {
    const hi = words[2 * i + 1]!;
    const key = (hi ^ (hi >>> 31 ? 0xffffffff : 0x80000000)) >>> 0;
    words[2 * i + 1] = key;
    counts[key & 0xffff]!++;
    counts[RADIX + (key >>> 16)]!++;
  }
  if (scratch.length < n * 2) scratch = new Uint32Array(n * 2);

  let source: Uint32Array = words;
  let target: Uint32Array = scratch;
  for (let pass = 0; pass < 2; pass++) {
    const offset = pass * RADIX;
    // A pass where every value falls in one bucket would only copy.
    let skip = false;
    for (let b = 0; b < RADIX; b++) {
      const c = counts[offset + b]!;
      if (c === n) skip = true;
      if (c !== 0) break;
    }
    if (skip) continue;
    let total = 0;
    for (let b = 0; b < RADIX; b++) {
      const c = counts[offset + b]!;
      counts[offset + b] = total;
      total += c;
    }
    const shift = pass === 0 ? 0 : 16;
    for (let i = 0; i < n; i++) {
      const key = source[2 * i + 1]!;
      const at = counts[offset + ((key >>> shift) & 0xffff)]!++;
      target[2 * at] = source[2 * i]!;
      target[2 * at + 1] = key;
    }
    [source, target] = [target, source];
  }
  if (source !== words) words.set(source.subarray(0, n * 2));

  for (let i = 0; i < n; i++) {
    const key = words[2 * i + 1]!;
    words[2 * i + 1] = (key ^ (key >>> 31 ? 0x80000000 : 0xffffffff)) >>> 0;
  }
  orderRuns(values, words);
}

/** Orders each run of values sharing a high word (already in place) by value. */
function orderRuns(values: Float64Array, words: Uint32Array): void {
  const n = values.length;
  let start = 0;
  while (start < n) {
    const hi = words[2 * start + 1]!;
    let end = start + 1;
    while (end < n && words[2 * end + 1] === hi) end++;
    const length = end - start;
    if (length > SHORT_RUN) values.subarray(start, end).sort();
    else if (length > 1) {
      for (let i = start + 1; i < end; i++) {
        const v = values[i]!;
        let j = i - 1;
        while (j >= start && values[j]! > v) {
          values[j + 1] = values[j]!;
          j--;
        }
        values[j + 1] = v;
      }
    }
    start = end;
  }
}

/**
 * Sorts values[from, to) in place, ascending: insertion sort for the handful a grid cell holds, else
 * sortFloat64. A short range may leave -0 and +0 in either order (they are equal to every test).
 */
export function sortRange(values: Float64Array, from: number, to: number): void {
  if (to - from > SHORT_RUN) {
    sortFloat64(values.subarray(from, to));
    return;
  }
  for (let i = from + 1; i < to; i++) {
    const v = values[i]!;
    let j = i - 1;
    while (j >= from && values[j]! > v) {
      values[j + 1] = values[j]!;
      j--;
    }
    values[j + 1] = v;
  }
}
