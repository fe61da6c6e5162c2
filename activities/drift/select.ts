/**
 * Which drift test runs on a column: Evidently's default choice (registry._get_default_stattest) and the
 * column kinds each test is registered for.
 *
 * Default choice, with rows counted after dropping missing values and distinct values counted over
 * reference and current together:
 *
 *   reference rows <= 1000: numerical with > 5 distinct values -> ks; otherwise (numerical or categorical)
 *                           > 2 distinct values -> chisquare, <= 2 -> z
 *   reference rows  > 1000: numerical with > 5 distinct values -> wasserstein; otherwise jensenshannon
 */
import { unionDistinct, type ColumnKind, type PreparedColumn } from './column.js';

import type { StatTestName } from '../../core/drift.js';

export { STAT_TEST_NAMES, type StatTestName } from '../../core/drift.js';

/** The column kinds each test is registered for in Evidently (asking for another kind is an error there). */
const ADMITTED_KINDS: Readonly<Record<StatTestName, readonly ColumnKind[]>> = {
  ks: ['numerical'],
  chisquare: ['categorical'],
  z: ['categorical'],
  wasserstein: ['numerical'],
  jensenshannon: ['numerical', 'categorical'],
  psi: ['numerical', 'categorical'],
};

export function admits(stattest: StatTestName, kind: ColumnKind): boolean {
  return ADMITTED_KINDS[stattest].includes(kind);
}

export const SMALL_REFERENCE_ROWS = 1000;

export function defaultStatTest(reference: PreparedColumn, current: PreparedColumn): StatTestName {
  const distinct = unionDistinct(reference, current, 5);
  if (reference.rows <= SMALL_REFERENCE_ROWS) {
    if (reference.kind === 'numerical' && distinct > 5) return 'ks';
    return distinct > 2 ? 'chisquare' : 'z';
  }
  if (reference.kind === 'numerical' && distinct > 5) return 'wasserstein';
  return 'jensenshannon';
}
