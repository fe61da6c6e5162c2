import { writeArtifact } from './artifacts.js';

/** A seeded generator (mulberry32), so a test's datasets are the same on every run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws by Box–Muller. */
export function normal(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

export interface CreditRowsOptions {
  readonly rows: number;
  readonly seed: number;
  /** Shift of income's mean, in standard deviations. */
  readonly incomeShift?: number;
  readonly debtShift?: number;
  /** Probability of each age band, in the order 18-25, 26-40, 41-65, 65+. */
  readonly ageBands?: readonly number[];
}

const AGE_BANDS = ['18-25', '26-40', '41-65', '65+'];

/** Rows shaped like the sample credit manifest's inputs (income, debt_to_income, age_band). */
export function creditRows({ rows, seed, incomeShift = 0, debtShift = 0, ageBands = [0.2, 0.4, 0.3, 0.1] }: CreditRowsOptions) {
  const random = seededRandom(seed);
  const z = normal(random);
  return Array.from({ length: rows }, () => {
    let u = random();
    const band = AGE_BANDS.find((_, i) => (u -= ageBands[i]!) < 0) ?? AGE_BANDS.at(-1)!;
    return {
      income: Math.round((52_000 + 15_000 * (z() + incomeShift)) * 100) / 100,
      debt_to_income: Math.round((0.32 + 0.08 * (z() + debtShift)) * 10_000) / 10_000,
      age_band: band,
    };
  });
}

/** Writes rows as a CSV file with a header and returns its URI and digest. */
export async function writeCsv(name: string, rows: readonly Record<string, string | number | null>[]): Promise<{ uri: string; sha256: string }> {
  const columns = Object.keys(rows[0]!);
  const text = [columns.join(','), ...rows.map((r) => columns.map((c) => r[c] ?? '').join(','))].join('\n') + '\n';
  return writeArtifact(name, text);
}

/** The V2 inference body the example credit model takes for these rows: its two numeric inputs as FP64 tensors. */
export function creditInferBody(id: string, rows: readonly { income: number; debt_to_income: number }[]) {
  const tensor = (name: 'income' | 'debt_to_income') => ({ name, shape: [rows.length], datatype: 'FP64', data: rows.map((r) => r[name]) });
  return { id, inputs: [tensor('income'), tensor('debt_to_income')] };
}
