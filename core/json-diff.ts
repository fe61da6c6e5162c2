export interface JsonChange {
  /** Dotted JSON path, e.g. `metrics.auc` or `artifacts.0.sha256`. */
  readonly path: string;
  readonly before: unknown;
  readonly after: unknown;
}

/** Leaf-level differences between two JSON values; `undefined` means the member is absent on that side. */
export function jsonDiff(before: unknown, after: unknown, path = ''): JsonChange[] {
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';
  if (isObject(before) && isObject(after) && Array.isArray(before) === Array.isArray(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => jsonDiff(before[k], after[k], path ? `${path}.${k}` : k));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ path: path || '(root)', before, after }];
}

export function describeChange(c: JsonChange): string {
  const show = (v: unknown) => (v === undefined ? 'absent' : JSON.stringify(v));
  return `${c.path}: ${show(c.before)} → ${show(c.after)}`;
}
