import { DATATYPES, inferenceRequestSchema, type InferenceRequest } from '../../runtimes/protocol.js';
import { elementsOf, kindAt, memberMap, scanDocument, stringAt, valueAt, type Span } from '../../runtimes/json-scan.js';

/** A body the gateway refuses before any runtime sees it: answered 400 with the field and the problem. */
export class InvalidInferenceBody extends Error {
  readonly statusCode = 400;
}

const DATATYPE_NAMES = new Set<string>(DATATYPES);
const MAX_NAME = 256;
const MAX_TENSORS = 10_000;

/**
 * A V2 inference request as the caller's bytes. The runtime gets those bytes (with an `id` added first when
 * the caller sent none), so numbers are never parsed and re-serialised on the way; the built request exists
 * only for what needs it (a window's sample).
 */
export class InferenceBody {
  private built: InferenceRequest | undefined;

  private constructor(
    readonly bytes: Buffer,
    /** Where the top-level object's `{` is. */
    private readonly objectStart: number,
    /** The caller's request id, if it sent one. */
    readonly id: string | undefined,
  ) {}

  /** A request built in code (tests, embedding). */
  static of(request: InferenceRequest): InferenceBody {
    const body = new InferenceBody(Buffer.from(JSON.stringify(request)), 0, request.id);
    body.built = request;
    return body;
  }

  /**
   * Reads a body: the envelope a router needs (id, tensor names, shapes, datatypes) is checked without
   * building the tensors' data, which the runtime validates. A body that does not pass is read again in
   * full with the protocol's schema, so the 400 names the field as it always has.
   */
  static read(bytes: Buffer): InferenceBody {
    const envelope = checkEnvelope(bytes);
    if (envelope) return new InferenceBody(bytes, envelope.objectStart, envelope.id);
    let value: unknown;
    try {
      value = JSON.parse(bytes.toString('utf8'));
    } catch (err) {
      throw new InvalidInferenceBody(`body is not JSON: ${(err as Error).message}`);
    }
    const parsed = inferenceRequestSchema.safeParse(value);
    if (!parsed.success) throw new InvalidInferenceBody(parsed.error.issues.map((i) => `${['body', ...i.path.map(String)].join('.')}: ${i.message}`).join('; '));
    // Valid, yet beyond what the quick check follows (e.g. nested very deeply): forwarded as the schema read it.
    return InferenceBody.of(parsed.data);
  }

  /** The bytes the runtime gets: as sent, with `id` added first when the caller gave none. */
  withId(id: string): Buffer {
    if (this.id !== undefined) return this.bytes;
    return Buffer.concat([Buffer.from(`{"id":${JSON.stringify(id)},`), this.bytes.subarray(this.objectStart + 1)]);
  }

  /** The request built (for a sample: not on every request). */
  parsed(): InferenceRequest {
    this.built ??= JSON.parse(this.bytes.toString('utf8')) as InferenceRequest;
    return this.built;
  }
}

/**
 * The envelope check: everything the schema checks except the contents of `data` (an array, as the schema
 * says). Null when anything is off; the caller then reads the body in full for the precise message.
 */
function checkEnvelope(b: Buffer): { objectStart: number; id: string | undefined } | null {
  let doc: Span;
  try {
    doc = scanDocument(b);
  } catch {
    return null;
  }
  if (kindAt(b, doc) !== 'object') return null;
  const top = memberMap(b, doc);
  let id: string | undefined;
  const idSpan = top.get('id');
  if (idSpan) {
    if (kindAt(b, idSpan) !== 'string') return null;
    id = stringAt(b, idSpan);
    if (id.length > MAX_NAME) return null;
  }
  if (!optionalObject(b, top.get('parameters'))) return null;
  const inputs = top.get('inputs');
  if (!inputs || kindAt(b, inputs) !== 'array') return null;
  const tensors = elementsOf(b, inputs);
  if (tensors.length < 1 || tensors.length > MAX_TENSORS || !tensors.every((t) => validTensor(b, t))) return null;
  const outputs = top.get('outputs');
  if (outputs) {
    if (kindAt(b, outputs) !== 'array') return null;
    const requested = elementsOf(b, outputs);
    if (requested.length > MAX_TENSORS) return null;
    for (const o of requested) {
      if (kindAt(b, o) !== 'object') return null;
      const fields = memberMap(b, o);
      if (!validName(b, fields.get('name')) || !optionalObject(b, fields.get('parameters'))) return null;
    }
  }
  return { objectStart: doc.start, id };
}

const optionalObject = (b: Buffer, span: Span | undefined) => span === undefined || kindAt(b, span) === 'object';

function validName(b: Buffer, span: Span | undefined): boolean {
  if (!span || kindAt(b, span) !== 'string') return false;
  const name = stringAt(b, span);
  return name.length >= 1 && name.length <= MAX_NAME;
}

function validTensor(b: Buffer, tensor: Span): boolean {
  if (kindAt(b, tensor) !== 'object') return false;
  const fields = memberMap(b, tensor);
  const shape = fields.get('shape');
  const datatype = fields.get('datatype');
  const data = fields.get('data');
  if (!validName(b, fields.get('name')) || !optionalObject(b, fields.get('parameters'))) return false;
  if (!datatype || kindAt(b, datatype) !== 'string' || !DATATYPE_NAMES.has(stringAt(b, datatype))) return false;
  if (!data || kindAt(b, data) !== 'array') return false;
  if (!shape || kindAt(b, shape) !== 'array') return false;
  const dims = valueAt(b, shape) as unknown[];
  return dims.length <= 16 && dims.every((d) => Number.isSafeInteger(d) && (d as number) >= 0);
}
