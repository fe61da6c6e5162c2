import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decimalInto } from '../../activities/decimal-bytes.js';
import { seededRandom } from '../harness/datasets.js';

/** What decimalInto makes of the whole text: the value (NaN: left to Number()) and where it stopped. */
function parse(text: string): { value: number; end: number } {
  const out = new Float64Array(1);
  const bytes = Buffer.from(text, 'latin1');
  const end = decimalInto(bytes, 0, bytes.length, out, 0);
  return { value: out[0]!, end };
}

const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max });

/** Plain decimals of every shape: signs, leading zeros, long mantissas, points anywhere, exponents near and far. */
const decimal = fc
  .record({
    sign: fc.constantFrom('', '-', '+'),
    whole: digits(0, 22),
    point: fc.boolean(),
    fraction: digits(0, 22),
    exponent: fc.option(fc.record({ e: fc.constantFrom('e', 'E'), sign: fc.constantFrom('', '-', '+'), value: fc.integer({ min: 0, max: 400 }) }), { nil: undefined }),
  })
  .filter((d) => d.whole.length + d.fraction.length > 0)
  .map((d) => `${d.sign}${d.whole}${d.point || d.fraction ? `.${d.fraction}` : ''}${d.exponent ? `${d.exponent.e}${d.exponent.sign}${d.exponent.value}` : ''}`);

/** Exactly Number()'s double, or NaN (left to Number()); -0 and 0 told apart. */
function agrees(text: string): void {
  const { value, end } = parse(text);
  expect(end).toBe(text.length);
  if (!Number.isNaN(value)) expect(Object.is(value, Number(text)), `${text}: ${value}, Number() gives ${Number(text)}`).toBe(true);
}

describe('decimals parsed from bytes', { timeout: 120_000 }, () => {
  it('give exactly the double Number() gives, for random decimal texts of every shape', () => {
    fc.assert(fc.property(decimal, agrees), { numRuns: 50_000 });
  });

  it('give exactly the double Number() gives for the shortest text of any double (what pandas and JS write)', () => {
    fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (x) => agrees(String(x))), { numRuns: 50_000 });
  });

  it('give exactly the double Number() gives for 16 to 19 digits around the 2^53 boundary and near halfway points', () => {
    const texts = ['9007199254740992', '9007199254740993', '9007199254740994', '9007199254740995', '18014398509481985', '9999999999999999999', '1000000000000000000'];
    const mantissa = fc.bigInt({ min: 2n ** 53n - 1000n, max: 10n ** 19n - 1n });
    fc.assert(
      fc.property(mantissa, fc.integer({ min: 0, max: 25 }), fc.boolean(), (m, k, negative) => {
        const s = m.toString();
        const text = k === 0 ? s : k < s.length ? `${s.slice(0, s.length - k)}.${s.slice(s.length - k)}` : `0.${'0'.repeat(k - s.length)}${s}`;
        agrees(`${negative ? '-' : ''}${text}`);
      }),
      { numRuns: 50_000 },
    );
    for (const t of texts) agrees(t);
    // 2^53 + 1 is exactly halfway between two doubles: too close to call cheaply, so Number() decides.
    expect(parse('9007199254740993').value).toBeNaN();
    // Near a power of two the unit changes size: Number() decides there too; elsewhere 17+ digits are decided here.
    expect(parse('9007199254740994').value).toBeNaN();
    expect(parse('0.12345678901234567').value).toBe(0.12345678901234566);
    expect(parse('123456789012345678').value).toBe(123456789012345680);
  });

  it('decide almost every cell themselves: the text of measurement-like values rarely needs Number()', () => {
    const random = seededRandom(11);
    let decided = 0;
    const runs = 100_000;
    for (let i = 0; i < runs; i++) {
      const x = (random() - 0.5) * 10 ** Math.floor(random() * 10 - 3);
      const { value } = parse(String(x));
      if (!Number.isNaN(value)) {
        decided++;
        expect(value).toBe(x);
      }
    }
    expect(decided / runs).toBeGreaterThan(0.99);
  });

  it('edge values: zeros, signs, leading zeros, spaces, extremes', () => {
    for (const t of ['0', '-0', '+0', '0.0', '-0.000e5', '000123.4500', '.5', '5.', '-.5e-3', '1e22', '1e23', '1e-22', '1e-23', '123456789012345678e-22', '1.7976931348623157e308', '5e-324', '2.2250738585072014e-308', '4.9e-324'])
      agrees(t);
    expect(Object.is(parse('-0').value, -0)).toBe(true);
    expect(parse('  1.5\t').value).toBe(1.5);
    expect(parse('  1.5\t').end).toBe(6);
  });

  it('leave what is not a plain decimal to the caller: NaN, and where the number-like bytes stop', () => {
    expect(parse('NA')).toEqual({ value: Number.NaN, end: 0 });
    expect(parse('')).toEqual({ value: Number.NaN, end: 0 });
    expect(parse('.')).toEqual({ value: Number.NaN, end: 1 });
    expect(parse('1e')).toEqual({ value: Number.NaN, end: 2 });
    expect(parse('1e400').value).toBeNaN();
    expect(parse('0x1f').end).toBe(1);
    expect(parse('12abc')).toEqual({ value: 12, end: 2 });
    expect(parse('1.23456789012345678901').value).toBeNaN(); // over 19 digits: Number() decides
  });
});
