import { lookup } from 'node:dns/promises';
import { addressRefusal, networkUrlRefusal, readUriRefusal, type NetworkPolicy, type ReadPolicy, type UriRefusal } from '../core/uri-policy.js';
import { ApiError } from './errors.js';

/**
 * Registration-time checks of the locations a request names: cheap and static for what Steward will read (the
 * reading activity checks again with DNS and the file system), so a refused URI answers 400 and nothing is written.
 */

function refused(issues: { field: string; problem: string }[]): ApiError {
  return new ApiError(400, 'uri_not_allowed', issues.map((i) => `${i.field}: ${i.problem}`).join('; '), issues);
}

const problemOf = (r: UriRefusal) => `${r.problem} [rule ${r.rule}]`;

/** Throws a 400 naming every field whose URI the read policy refuses. */
export function assertReadable(fields: readonly { field: string; uri: string | undefined }[], policy: ReadPolicy): void {
  const issues = fields.flatMap(({ field, uri }) => {
    const refusal = uri === undefined ? null : readUriRefusal(uri, policy);
    return refusal ? [{ field, problem: problemOf(refusal) }] : [];
  });
  if (issues.length) throw refused(issues);
}

/** The artifact and reference dataset URIs of a manifest, with the fields that name them. */
export function manifestUris(manifest: {
  artifacts: readonly { uri: string }[];
  referenceDataset?: { uri: string } | undefined;
  evaluation?: { dataset: { uri: string } } | undefined;
}) {
  return [
    ...manifest.artifacts.map((a, i) => ({ field: `body.artifacts.${i}.uri`, uri: a.uri })),
    { field: 'body.referenceDataset.uri', uri: manifest.referenceDataset?.uri },
    { field: 'body.evaluation.dataset.uri', uri: manifest.evaluation?.dataset.uri },
  ];
}

/**
 * A webhook URL must not reach loopback, private or link-local addresses unless configured: an IP literal is
 * judged as is, a host name by every address it resolves to now (delivery checks again at connect time). A
 * name that does not resolve yet is accepted; delivery will judge it.
 */
export async function assertCallable(field: string, url: string, policy: NetworkPolicy): Promise<void> {
  const target = new URL(url);
  let refusal = networkUrlRefusal(target, policy);
  if (!refusal && !target.hostname.startsWith('[') && !/^[\d.]+$/.test(target.hostname)) {
    const addresses = await lookup(target.hostname, { all: true }).catch(() => []);
    for (const a of addresses) {
      const r = addressRefusal(a.address, policy);
      if (r) {
        refusal = { rule: r.rule, problem: `host ${target.hostname} resolves to an address Steward may not reach: ${r.problem}` };
        break;
      }
    }
  }
  if (refusal) throw refused([{ field, problem: problemOf(refusal) }]);
}
