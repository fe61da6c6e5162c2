import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../platform/config.js';
import { lifecycleWorkerOptions } from '../../platform/worker-tuning.js';

describe('worker tuning (STEWARD_WORKER_*)', () => {
  it("defaults to the cache the fleet bench fits in 4 GiB (about 0.5 MiB per cached lifecycle), not the SDK's heap-derived size", () => {
    const { workerTuning } = loadConfig({});
    expect(workerTuning).toEqual({
      maxCachedWorkflows: 6_000,
      maxConcurrentWorkflowTasks: 40,
      maxConcurrentActivities: 50,
      stickyScheduleToStartTimeoutMs: 10_000,
      reuseV8Context: true,
      workflowThreads: 1,
    });
  });

  it('reads every variable', () => {
    const { workerTuning } = loadConfig({
      STEWARD_WORKER_MAX_CACHED_WORKFLOWS: '1500',
      STEWARD_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '8',
      STEWARD_WORKER_MAX_CONCURRENT_ACTIVITIES: '20',
      STEWARD_WORKER_STICKY_TIMEOUT_SECONDS: '3',
      STEWARD_WORKER_REUSE_V8_CONTEXT: 'false',
      STEWARD_WORKER_THREADS: '2',
    });
    expect(workerTuning).toEqual({
      maxCachedWorkflows: 1500,
      maxConcurrentWorkflowTasks: 8,
      maxConcurrentActivities: 20,
      stickyScheduleToStartTimeoutMs: 3_000,
      reuseV8Context: false,
      workflowThreads: 2,
    });
  });

  it('names the variable and the problem for a bad value', () => {
    expect(() => loadConfig({ STEWARD_WORKER_MAX_CACHED_WORKFLOWS: 'lots' })).toThrow(ConfigError);
    expect(() => loadConfig({ STEWARD_WORKER_MAX_CACHED_WORKFLOWS: 'lots' })).toThrow(/STEWARD_WORKER_MAX_CACHED_WORKFLOWS: /);
    expect(() => loadConfig({ STEWARD_WORKER_MAX_CACHED_WORKFLOWS: '-1' })).toThrow(/STEWARD_WORKER_MAX_CACHED_WORKFLOWS: .*>=0/);
    expect(() => loadConfig({ STEWARD_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '1' })).toThrow(/STEWARD_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: .*>=2/);
    expect(() => loadConfig({ STEWARD_WORKER_THREADS: '1.5' })).toThrow(/STEWARD_WORKER_THREADS: must be a whole number/);
    expect(() => loadConfig({ STEWARD_WORKER_REUSE_V8_CONTEXT: 'yes' })).toThrow(/STEWARD_WORKER_REUSE_V8_CONTEXT: must be true or false/);
  });

  it('refuses more task slots than cached workflows, naming both variables, unless the cache is off', () => {
    const contradictory = { STEWARD_WORKER_MAX_CACHED_WORKFLOWS: '10', STEWARD_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: '40' };
    expect(() => loadConfig(contradictory)).toThrow(ConfigError);
    expect(() => loadConfig(contradictory)).toThrow(/STEWARD_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS \(40\) cannot exceed STEWARD_WORKER_MAX_CACHED_WORKFLOWS \(10\)/);
    expect(loadConfig({ ...contradictory, STEWARD_WORKER_MAX_CACHED_WORKFLOWS: '0' }).workerTuning.maxCachedWorkflows).toBe(0);
  });

  it('becomes the SDK options, with half the task slots (2 to 10) polling', () => {
    const options = (tasks: string) => lifecycleWorkerOptions(loadConfig({ STEWARD_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: tasks }).workerTuning);
    expect(options('40')).toEqual({
      maxCachedWorkflows: 6_000,
      maxConcurrentWorkflowTaskExecutions: 40,
      maxConcurrentWorkflowTaskPolls: 10,
      maxConcurrentActivityTaskExecutions: 50,
      stickyQueueScheduleToStartTimeout: 10_000,
      reuseV8Context: true,
      workflowThreadPoolSize: 1,
    });
    expect(options('8').maxConcurrentWorkflowTaskPolls).toBe(4);
    expect(options('2').maxConcurrentWorkflowTaskPolls).toBe(2);
  });
});

describe('worker versioning (STEWARD_WORKER_DEPLOYMENT_NAME, STEWARD_WORKER_BUILD_ID)', () => {
  it('joins the worker to a deployment version whose lifecycles auto-upgrade', () => {
    const { workerTuning } = loadConfig({ STEWARD_WORKER_DEPLOYMENT_NAME: 'steward', STEWARD_WORKER_BUILD_ID: '2026.03.1+abc123' });
    expect(workerTuning.deployment).toEqual({ name: 'steward', buildId: '2026.03.1+abc123' });
    expect(lifecycleWorkerOptions(workerTuning).workerDeploymentOptions).toEqual({
      version: { deploymentName: 'steward', buildId: '2026.03.1+abc123' },
      useWorkerVersioning: true,
      defaultVersioningBehavior: 'AUTO_UPGRADE',
    });
    expect(lifecycleWorkerOptions(loadConfig({}).workerTuning)).not.toHaveProperty('workerDeploymentOptions');
  });

  it('needs both, and names them', () => {
    expect(() => loadConfig({ STEWARD_WORKER_BUILD_ID: 'b1' })).toThrow(/STEWARD_WORKER_DEPLOYMENT_NAME and STEWARD_WORKER_BUILD_ID must be set together/);
    expect(() => loadConfig({ STEWARD_WORKER_DEPLOYMENT_NAME: 'has space', STEWARD_WORKER_BUILD_ID: 'b1' })).toThrow(/STEWARD_WORKER_DEPLOYMENT_NAME: must be letters/);
  });
});

describe('Temporal TLS and API key settings', () => {
  it('names a TLS variable whose file is not there, and reads the ones that are', async () => {
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { temporalTlsOptions } = await import('../../platform/config.js');
    expect(() => loadConfig({ TEMPORAL_TLS_CA: '/nowhere/ca.pem' })).toThrow(/TEMPORAL_TLS_CA: no file at \/nowhere\/ca.pem/);
    const dir = await mkdtemp(join(tmpdir(), 'steward-tls-'));
    const [cert, key, ca] = ['client.pem', 'client.key', 'ca.pem'].map((f) => join(dir, f));
    await Promise.all([writeFile(cert!, 'CERT'), writeFile(key!, 'KEY'), writeFile(ca!, 'CA')]);
    expect(() => loadConfig({ TEMPORAL_TLS_CERT: cert!, TEMPORAL_TLS_KEY: join(dir, 'missing.key') })).toThrow(/TEMPORAL_TLS_KEY: no file at /);
    const { temporal } = loadConfig({ TEMPORAL_TLS_CERT: cert!, TEMPORAL_TLS_KEY: key!, TEMPORAL_TLS_CA: ca! });
    const tls = temporalTlsOptions(temporal) as { clientCertPair: { crt: Buffer; key: Buffer }; serverRootCACertificate: Buffer };
    expect([tls.clientCertPair.crt.toString(), tls.clientCertPair.key.toString(), tls.serverRootCACertificate.toString()]).toEqual(['CERT', 'KEY', 'CA']);
    // An API key alone switches TLS on with the system's roots.
    const cloud = loadConfig({ TEMPORAL_API_KEY: 'key-123', TEMPORAL_ADDRESS: 'eu-west-1.aws.api.temporal.io:7233' }).temporal;
    expect(cloud.apiKey).toBe('key-123');
    expect(temporalTlsOptions(cloud)).toBe(true);
  });
});
