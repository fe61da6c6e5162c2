/**
 * A report as history carries it: a summary small enough for history and the digest of the full document
 * in the content store.
 */
export type ReportKind = 'evaluation' | 'scan' | 'drift';

export interface ReportRef {
  readonly kind: ReportKind;
  readonly digest: string;
  readonly summary: Readonly<Record<string, unknown>>;
}
