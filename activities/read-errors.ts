import { ApplicationFailure } from '@temporalio/activity';

/** Final failures of a read that no retry can mend: the input is too large, or is not there to read. */

/** Error type of an input over its size limit: final, never retried. */
export const ARTIFACT_TOO_LARGE = 'ArtifactTooLarge';

export function tooLarge(uri: string, maxBytes: number, size?: number): ApplicationFailure {
  const what = size === undefined ? 'more than' : `${size} bytes, more than`;
  return ApplicationFailure.create({
    type: ARTIFACT_TOO_LARGE,
    message: `${uri} is ${what} the limit of ${maxBytes} bytes (STEWARD_MAX_ARTIFACT_BYTES, STEWARD_MAX_DATASET_BYTES)`,
    nonRetryable: true,
    details: [{ uri, maxBytes }],
  });
}

export function isTooLarge(err: unknown): err is ApplicationFailure {
  return err instanceof ApplicationFailure && err.type === ARTIFACT_TOO_LARGE;
}

/** Error type of an object (s3://, gs://) or bucket that does not exist: final, never retried. */
export const OBJECT_NOT_FOUND = 'ObjectNotFound';

export function objectNotFound(uri: string, what: string): ApplicationFailure {
  return ApplicationFailure.create({ type: OBJECT_NOT_FOUND, message: `${uri}: ${what}`, nonRetryable: true, details: [{ uri }] });
}

/** Error type of an object the worker's credentials may not read: final (permissions do not heal on retry). */
export const OBJECT_ACCESS_DENIED = 'ObjectAccessDenied';

export function objectAccessDenied(uri: string, what: string): ApplicationFailure {
  return ApplicationFailure.create({ type: OBJECT_ACCESS_DENIED, message: `${uri}: ${what}`, nonRetryable: true, details: [{ uri }] });
}

/** Error type of object-store settings that cannot work (no region, say): final until the worker is reconfigured. */
export const OBJECT_STORE_MISCONFIGURED = 'ObjectStoreMisconfigured';

export function objectStoreMisconfigured(uri: string, what: string): ApplicationFailure {
  return ApplicationFailure.create({ type: OBJECT_STORE_MISCONFIGURED, message: `${uri}: ${what}`, nonRetryable: true, details: [{ uri }] });
}
