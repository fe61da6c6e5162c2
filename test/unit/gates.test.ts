import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { severityAtLeast } from '../../core/policy.js';
import { maxSeverity, scanArtifact } from '../../activities/scanning.js';
import { evaluateMetrics } from '../../activities/testing.js';
import { TEST_ROOT, testReadOptions } from '../harness/reading.js';

async function artifactFile(bytes: Buffer) {
  const dir = await mkdtemp(join(tmpdir(), 'steward-unit-'));
  const path = join(dir, 'model.bin');
  await writeFile(path, bytes);
  return { uri: pathToFileURL(path).href, sha256: createHash('sha256').update(bytes).digest('hex') };
}

describe('the test gate', () => {
  it('passes when every required metric reaches its minimum', () => {
    expect(evaluateMetrics({ auc: 0.9, f1: 0.7 }, { auc: 0.8 })).toEqual({
      passed: true,
      checks: [{ metric: 'auc', minimum: 0.8, value: 0.9, passed: true }],
    });
  });

  it('fails on a metric below its minimum and on a metric that was never reported', () => {
    const report = evaluateMetrics({ auc: 0.79 }, { auc: 0.8, recall: 0.5 });
    expect(report.passed).toBe(false);
    expect(report.checks.map((c) => [c.metric, c.value, c.passed])).toEqual([
      ['auc', 0.79, false],
      ['recall', null, false],
    ]);
  });

  it('passes trivially when the policy requires nothing', () => {
    expect(evaluateMetrics({}, {})).toEqual({ passed: true, checks: [] });
  });
});

describe('the security scan', () => {
  it('finds nothing wrong with an intact, non-pickle artifact', async () => {
    const artifact = await artifactFile(Buffer.from('plain model bytes'));
    expect(await scanArtifact(artifact, testReadOptions())).toMatchObject({ findings: [], sha256: artifact.sha256 });
  });

  it('reports a digest mismatch as critical', async () => {
    const artifact = await artifactFile(Buffer.from('tampered'));
    const { findings } = await scanArtifact({ ...artifact, sha256: 'f'.repeat(64) }, testReadOptions());
    expect(findings).toMatchObject([{ code: 'digest-mismatch', severity: 'critical' }]);
  });

  it('walks a pickle stream: a truncated one is malformed, not trusted', async () => {
    const pickle = Buffer.from([0x80, 0x04, 0x95, 0x00, 0x00, 0x2e]);
    const { findings } = await scanArtifact(await artifactFile(pickle), testReadOptions());
    expect(findings).toMatchObject([{ code: 'pickle-malformed', severity: 'high' }]);
  });

  it('reports an unreadable artifact as high, naming the cause', async () => {
    const { findings, sha256 } = await scanArtifact({ uri: pathToFileURL(join(TEST_ROOT, 'nonexistent', 'model.onnx')).href, sha256: 'a'.repeat(64) }, testReadOptions());
    expect(sha256).toBeNull();
    expect(findings[0]).toMatchObject({ code: 'artifact-unreachable', severity: 'high' });
    expect(findings[0]!.message).toContain('ENOENT');
  });

  it('orders severities', () => {
    expect(maxSeverity([])).toBe('info');
    expect(severityAtLeast('critical', 'high')).toBe(true);
    expect(severityAtLeast('medium', 'high')).toBe(false);
  });
});
