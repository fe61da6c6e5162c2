import type { InferenceResponse, Tensor } from './protocol.js';
import { elementsOf, firstScalars, JsonScanError, kindAt, memberMap, membersOf, scanDocument, stringAt, valueAt, type Member, type Span } from './json-scan.js';

/** What a log keeps of a tensor: its name, datatype, shape and first values (memory stays bounded). */
export interface TensorSummary {
  readonly name: string;
  readonly datatype: string;
  readonly shape: readonly number[];
  readonly data: readonly unknown[];
  /** The tensor's element count, when it holds more than `data` shows. */
  readonly truncated?: number;
}

export const SUMMARY_VALUES = 16;

const summaryOf = (name: string, datatype: string, shape: readonly number[], data: unknown[]): TensorSummary => {
  const total = shape.reduce((n, d) => n * d, 1);
  return { name, datatype, shape, data, ...(total > data.length ? { truncated: total } : {}) };
};

/** Summaries of built tensors. */
export function summariseTensors(tensors: readonly Pick<Tensor, 'name' | 'datatype' | 'shape' | 'data'>[]): TensorSummary[] {
  return tensors.map((t) => summaryOf(t.name, t.datatype, t.shape, firstValues(t.data, SUMMARY_VALUES)));
}

/** The first `limit` scalars of a flat or nested array, without flattening all of it. */
function firstValues(data: readonly unknown[], limit: number, into: unknown[] = []): unknown[] {
  for (const value of data) {
    if (into.length >= limit) break;
    if (Array.isArray(value)) firstValues(value, limit, into);
    else into.push(value);
  }
  return into;
}

/** The members the gateway answers with its own values. */
const ENVELOPE = new Set(['model_name', 'model_version', 'id']);
const CLOSE = Buffer.from('}');

/**
 * A runtime's inference answer as the bytes it sent, with its top-level members located. The caller's
 * answer is those bytes with the envelope (model name, version, request id) replaced, so outputs reach the
 * caller exactly as the runtime wrote them; the parsed form is built only when something needs it (a
 * shadow comparison, a sample).
 */
export class InferenceAnswer {
  private built: InferenceResponse | undefined;

  private constructor(
    readonly bytes: Buffer,
    private readonly members: readonly Member[],
    private readonly outputs: Span,
  ) {}

  /** The answer in `bytes`; throws JsonScanError when they are not a JSON object with an `outputs` array. */
  static scan(bytes: Buffer): InferenceAnswer {
    const doc = scanDocument(bytes);
    if (kindAt(bytes, doc) !== 'object') throw new JsonScanError('the answer is not a JSON object');
    const members = membersOf(bytes, doc);
    let outputs: Span | undefined;
    for (const m of members) if (m.key === 'outputs') outputs = m.value;
    if (!outputs || kindAt(bytes, outputs) !== 'array') throw new JsonScanError('the answer has no outputs');
    return new InferenceAnswer(bytes, members, outputs);
  }

  /** An answer a runtime gave already built (runtimes that do not hand out bytes). */
  static of(response: InferenceResponse): InferenceAnswer {
    const answer = InferenceAnswer.scan(Buffer.from(JSON.stringify(response)));
    answer.built = response;
    return answer;
  }

  /** The answer the caller gets: the runtime's members as they came, `model_name`, `model_version` and `id` set. */
  rewrite(envelope: { readonly model_name: string; readonly model_version: string | null; readonly id: string }): Buffer {
    const parts: Buffer[] = [Buffer.from(`{"model_name":${JSON.stringify(envelope.model_name)},"model_version":${JSON.stringify(envelope.model_version)},"id":${JSON.stringify(envelope.id)}`)];
    for (const m of this.members) {
      if (ENVELOPE.has(m.key)) continue;
      parts.push(Buffer.from(`,${JSON.stringify(m.key)}:`), this.bytes.subarray(m.value.start, m.value.end));
    }
    parts.push(CLOSE);
    return Buffer.concat(parts);
  }

  /** The answer built (for a comparison or a sample: not on every request). */
  parsed(): InferenceResponse {
    this.built ??= JSON.parse(this.bytes.toString('utf8')) as InferenceResponse;
    return this.built;
  }

  /**
   * Each output's name, datatype, shape and first values, read from the bytes without building the tensors.
   * Outputs not shaped as the protocol says are summarised as none rather than failing the request.
   */
  outputsSummary(): TensorSummary[] {
    try {
      return this.summary();
    } catch {
      return [];
    }
  }

  private summary(): TensorSummary[] {
    if (this.built) return summariseTensors(this.built.outputs);
    const b = this.bytes;
    const summaries: TensorSummary[] = [];
    for (const tensor of elementsOf(b, this.outputs)) {
      const fields = kindAt(b, tensor) === 'object' ? memberMap(b, tensor) : null;
      const name = fields?.get('name');
      const datatype = fields?.get('datatype');
      const shape = fields?.get('shape');
      const data = fields?.get('data');
      // An output not shaped as the protocol says is summarised from the built answer instead.
      if (!name || !datatype || !shape || !data || kindAt(b, name) !== 'string' || kindAt(b, datatype) !== 'string' || kindAt(b, shape) !== 'array' || kindAt(b, data) !== 'array') {
        return summariseTensors(this.parsed().outputs);
      }
      const dims = valueAt(b, shape) as unknown[];
      if (!dims.every((d) => typeof d === 'number')) return summariseTensors(this.parsed().outputs);
      summaries.push(summaryOf(stringAt(b, name), stringAt(b, datatype), dims as number[], firstScalars(b, data, SUMMARY_VALUES)));
    }
    return summaries;
  }
}
