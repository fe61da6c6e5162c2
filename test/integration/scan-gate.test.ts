import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiToken } from '../../api/tokens.js';
import { lifecycleWorkflowId } from '../../core/model-id.js';
import { runtimeModelName } from '../../runtimes/runtime.js';
import type { LifecycleResult } from '../../workflows/lifecycle.js';
import { statusQuery } from '../../workflows/messages.js';
import { writeArtifact } from '../harness/artifacts.js';
import { stageTransitionsIn } from '../harness/history.js';
import { eventually, startTestStack, type TestStack } from '../harness/index.js';
import { SAMPLE_MODEL, sampleManifest } from '../harness/manifests.js';
import { sharedTestRuntime } from '../harness/runtimes.js';

/**
 * The scan gate on the real dev server, with the worker's real activities: what a pickle imports decides,
 * the manifest's dependencies are checked against the OSV records shipped with the tests, and the bytes
 * are read again right before the deploy, so an artifact swapped after approval never serves.
 */

/** `os.system('echo pwned')` as protocol 2 writes it: GLOBAL, then REDUCE. */
const MALICIOUS = Buffer.from("\x80\x02cos\nsystem\nq\x00X\x0a\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03.", 'latin1');
/** An empty collections.OrderedDict: an allowed global. */
const BENIGN = Buffer.from('\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01.', 'latin1');

describe('scan gate and pre-deploy re-check', () => {
  let stack: TestStack;
  let client: Client;
  let engineer: string;
  let approver: string;
  const previousOsv = process.env.STEWARD_OSV_DIR;

  beforeAll(async () => {
    // The worker's scan reads advisories from here (offline); set before the worker starts.
    process.env.STEWARD_OSV_DIR = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'fixtures', 'osv');
    stack = await startTestStack('scan-gate');
    client = stack.client;
    engineer = await createApiToken(stack.database.db, 'erin', ['engineer']);
    approver = await createApiToken(stack.database.db, 'ava', ['approver:risk']);
  });

  afterAll(async () => {
    if (previousOsv === undefined) delete process.env.STEWARD_OSV_DIR;
    else process.env.STEWARD_OSV_DIR = previousOsv;
    await stack?.stop();
  });

  /** A low-risk candidate (one approver, straight to production) with the sample model and one more artifact. */
  async function candidate(name: string, extra: { file: string; bytes: Buffer }, fields: Record<string, unknown> = {}) {
    const m = await sampleManifest({ name, riskTier: 'low', dependencies: ['scikit-learn==1.9.1', 'numpy==2.4.6'], license: 'MIT', ...fields });
    return { ...m, artifacts: [...m.artifacts, await writeArtifact(extra.file, extra.bytes)] };
  }

  async function register(m: Awaited<ReturnType<typeof candidate>>) {
    const res = await stack.api.call('POST', '/models', { token: engineer, body: m });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return client.workflow.getHandle(lifecycleWorkflowId({ name: m.name, version: '1.0.0' }));
  }

  async function scanReport(handle: Awaited<ReturnType<typeof register>>) {
    const scan = stageTransitionsIn(await handle.fetchHistory()).find((t) => t.stage === 'scan')!;
    const full = (await stack.database.evidence.get(scan.report!.digest)) as { findings: Record<string, unknown>[] };
    return { scan, full };
  }

  it('fails a malicious pickle at the scan, naming the import, the file and the offset', async () => {
    const m = await candidate('evil-pickle', { file: 'preprocess.pkl', bytes: MALICIOUS });
    const handle = await register(m);
    expect(((await handle.result()) as LifecycleResult).endedBy).toBe('failed-scan');
    const { scan, full } = await scanReport(handle);
    expect(scan).toMatchObject({ outcome: 'failed', detail: { maxSeverity: 'critical', blockAt: 'high' } });
    const finding = { severity: 'critical', code: 'pickle-import', import: 'os.system', offset: 2, artifactUri: m.artifacts[1]!.uri };
    // Named in history's summary and in the full report.
    expect(scan.report?.summary).toMatchObject({ findings: [expect.objectContaining(finding)] });
    expect(full.findings).toContainEqual(expect.objectContaining({ ...finding, message: expect.stringContaining('preprocess.pkl imports os.system (GLOBAL at offset 2)') }));
  });

  it('passes a good candidate at the scan and deploys it; a vulnerable dependency pin would have failed it', async () => {
    const m = await candidate('good-candidate', { file: 'preprocess.pkl', bytes: BENIGN });
    const handle = await register(m);
    const id = `${m.name}@1.0.0`;
    await eventually('the approval gate to open', async () => ((await handle.query(statusQuery)).gate ? true : undefined));
    const { scan, full } = await scanReport(handle);
    expect(scan).toMatchObject({ outcome: 'passed', detail: { maxSeverity: 'info' } });
    expect(full).toMatchObject({ contents: expect.arrayContaining([{ uri: m.artifacts[1]!.uri, pickles: 1, imports: ['collections.OrderedDict'] }]), license: 'MIT' });
    const approval = await stack.api.call('POST', `/models/${id}/approvals`, { token: approver, body: { decision: 'approve' } });
    expect(approval.status).toBe(200);
    await eventually('the version to serve', async () => ((await handle.query(statusQuery)).stage === 'monitor' ? true : undefined));
    expect(await (await sharedTestRuntime()).runtimes.forTarget('default').ready(runtimeModelName(id))).toBe(true);

    const vulnerable = await candidate('vulnerable-dependency', { file: 'preprocess.pkl', bytes: BENIGN }, { dependencies: ['joblib==1.1.0', 'pandas>=2'] });
    const second = await register(vulnerable);
    expect(((await second.result()) as LifecycleResult).endedBy).toBe('failed-scan');
    const findings = (await scanReport(second)).full.findings;
    expect(findings).toContainEqual(expect.objectContaining({ code: 'dependency-advisory', severity: 'critical', message: expect.stringContaining('GHSA-6hrg-qmvc-2xh8') }));
    expect(findings).toContainEqual(expect.objectContaining({ code: 'dependency-unpinned', dependency: 'pandas>=2' }));
  });

  it('fails an artifact whose bytes were swapped before the scan', async () => {
    const m = await candidate('swapped-before-scan', { file: 'preprocess.pkl', bytes: BENIGN });
    await writeFile(fileURLToPath(m.artifacts[0]!.uri), JSON.stringify({ ...SAMPLE_MODEL, intercept: 3 }));
    const handle = await register(m);
    expect(((await handle.result()) as LifecycleResult).endedBy).toBe('failed-scan');
    const { scan } = await scanReport(handle);
    expect(scan).toMatchObject({ outcome: 'failed', detail: { maxSeverity: 'critical' } });
    // The summary in history lists the most severe findings first.
    expect(scan.report?.summary).toMatchObject({ findings: [expect.objectContaining({ code: 'digest-mismatch', artifactUri: m.artifacts[0]!.uri }), expect.objectContaining({ severity: 'info' })] });
  });

  it('refuses the deploy of an artifact swapped after approval, with a critical finding in history, and never loads it', async () => {
    const m = await candidate('swapped-after-approval', { file: 'preprocess.pkl', bytes: BENIGN });
    const handle = await register(m);
    const id = `${m.name}@1.0.0`;
    await eventually('the approval gate to open', async () => ((await handle.query(statusQuery)).gate ? true : undefined));
    expect((await scanReport(handle)).scan).toMatchObject({ outcome: 'passed' });
    // Scanned and waiting for approval: now the model file is replaced with another valid model.
    await writeFile(fileURLToPath(m.artifacts[0]!.uri), JSON.stringify({ ...SAMPLE_MODEL, intercept: 3 }));
    const approval = await stack.api.call('POST', `/models/${id}/approvals`, { token: approver, body: { decision: 'approve' } });
    expect(approval.status).toBe(200);
    const result = (await handle.result()) as LifecycleResult;
    expect(result.endedBy).toBe('rolled-back');
    const deploy = stageTransitionsIn(await handle.fetchHistory()).find((t) => t.stage === 'deploy')!;
    expect(deploy).toMatchObject({ outcome: 'failed' });
    const reason = (deploy.detail as { reason: string }).reason;
    expect(reason).toContain(`critical finding digest-mismatch on ${m.artifacts[0]!.uri}`);
    expect(reason).toContain(`not the registered ${m.artifacts[0]!.sha256}`);
    expect(await (await sharedTestRuntime()).runtimes.forTarget('default').ready(runtimeModelName(id))).toBe(false);
    const rows = await stack.database.db.selectFrom('deployments').select('id').where('model_version_id', '=', id).execute();
    expect(rows).toEqual([]);
  });
});
