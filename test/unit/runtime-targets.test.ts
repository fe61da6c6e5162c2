import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../platform/config.js';
import { implementationFor, RuntimeError } from '../../runtimes/oip.js';
import { BUILTIN_IMPLEMENTATIONS, type RuntimeTarget } from '../../runtimes/runtime.js';
import { createRuntimes, parseRuntimeTargets, RuntimeTargetsError } from '../../runtimes/targets.js';

const runtimes = (value: unknown) => ({ STEWARD_RUNTIMES: typeof value === 'string' ? value : JSON.stringify(value) });
const problem = (env: Record<string, string>) => {
  try {
    parseRuntimeTargets(env);
  } catch (err) {
    expect(err).toBeInstanceOf(RuntimeTargetsError);
    return (err as Error).message;
  }
  throw new Error('expected a RuntimeTargetsError');
};

describe('deployment targets from STEWARD_RUNTIMES', () => {
  it('defaults to one built-in target on loopback with its repository in the data directory', () => {
    const targets = parseRuntimeTargets({ STEWARD_DATA_DIR: '/var/lib/steward' });
    expect(targets.list()).toEqual([{ name: 'default', kind: 'builtin', url: 'http://127.0.0.1:8090', repository: '/var/lib/steward/models' }]);
    expect(parseRuntimeTargets({ STEWARD_RUNTIME_PORT: '9000' }).get('default')).toMatchObject({ url: 'http://127.0.0.1:9000', repository: resolve('.steward/models') });
  });

  it('reads every configured target', () => {
    const targets = parseRuntimeTargets(
      runtimes({
        prod: { kind: 'mlserver', url: 'http://mlserver:8080/', repository: '/models' },
        default: { kind: 'builtin', url: 'https://runtime.internal', repository: 'models' },
      }),
    );
    expect(targets.names.sort()).toEqual(['default', 'prod']);
    expect(targets.get('prod')).toEqual({ name: 'prod', kind: 'mlserver', url: 'http://mlserver:8080', repository: '/models' });
    expect(targets.get('default').repository).toBe(resolve('models'));
  });

  it.each([
    [{ prod: { kind: 'mlserver', url: 'ftp://x', repository: '/m' } }, 'STEWARD_RUNTIMES.prod.url: must be an http(s) URL'],
    [{ prod: { kind: 'mlserver', url: 'not a url', repository: '/m' } }, 'STEWARD_RUNTIMES.prod.url: must be an http(s) URL'],
    [{ prod: { kind: 'triton', url: 'http://x', repository: '/m' } }, 'STEWARD_RUNTIMES.prod.kind: must be "mlserver" or "builtin"'],
    [{ prod: { kind: 'builtin', url: 'http://x' } }, 'STEWARD_RUNTIMES.prod.repository: must be a directory path'],
    [{ prod: { kind: 'builtin', url: 'http://x', repository: '' } }, 'STEWARD_RUNTIMES.prod.repository: must be a directory path'],
    [{ prod: { kind: 'builtin', url: 'http://x', repository: '/m', extra: 1 } }, 'STEWARD_RUNTIMES.prod'],
    [{ Prod: { kind: 'builtin', url: 'http://x', repository: '/m' } }, 'STEWARD_RUNTIMES.Prod: must be a target name'],
    [{}, 'STEWARD_RUNTIMES: must name at least one target'],
    [[1, 2], 'STEWARD_RUNTIMES: must be a JSON object of targets'],
    ['{"prod": ', 'STEWARD_RUNTIMES: must be a JSON object of targets'],
  ])('refuses %j: %s', (value, message) => {
    expect(problem(runtimes(value))).toContain(message);
  });

  it('refuses a port that is not one', () => {
    expect(problem({ STEWARD_RUNTIME_PORT: 'eighty' })).toContain('STEWARD_RUNTIME_PORT: must be a port number');
    expect(problem({ STEWARD_RUNTIME_PORT: '70000' })).toContain('STEWARD_RUNTIME_PORT');
  });

  it('names the configured targets when a manifest names an unknown one, as a final error', () => {
    const targets = parseRuntimeTargets(runtimes({ prod: { kind: 'mlserver', url: 'http://m:8080', repository: '/m' }, lab: { kind: 'builtin', url: 'http://b', repository: '/b' } }));
    const failure = (() => {
      try {
        targets.get('staging');
      } catch (err) {
        return err;
      }
    })();
    expect(failure).toBeInstanceOf(RuntimeError);
    expect(failure).toMatchObject({ retryable: false, message: 'unknown deployment target "staging"; configured targets (STEWARD_RUNTIMES): prod, lab' });
  });

  it('is part of the configuration, whose errors name the variable and the field', () => {
    expect(loadConfig({}).runtimes.get('default').kind).toBe('builtin');
    expect(loadConfig({ STEWARD_DATA_DIR: '/srv/steward' }).batchOutputDir).toBe('/srv/steward/batch');
    expect(() => loadConfig(runtimes({ prod: { kind: 'mlserver', url: 'x', repository: '/m' } }))).toThrow(ConfigError);
    expect(() => loadConfig(runtimes({ prod: { kind: 'mlserver', url: 'x', repository: '/m' } }))).toThrow('invalid configuration: STEWARD_RUNTIMES.prod.url: must be an http(s) URL');
  });

  it('makes one runtime client per target and keeps it', async () => {
    const targets = parseRuntimeTargets(runtimes({ prod: { kind: 'mlserver', url: 'http://m:8080', repository: '/m' }, lab: { kind: 'builtin', url: 'http://b', repository: '/b' } }));
    const all = createRuntimes(targets, { stage: async () => undefined });
    try {
      expect(all.forTarget('prod')).toBe(all.forTarget('prod'));
      expect(all.forTarget('lab')).not.toBe(all.forTarget('prod'));
      expect(all.forTarget('lab').target.kind).toBe('builtin');
      expect(() => all.forTarget('nowhere')).toThrow('unknown deployment target "nowhere"');
    } finally {
      await all.close();
    }
  });
});

describe('the implementation a target loads a model with', () => {
  const mlserver: RuntimeTarget = { name: 'prod', kind: 'mlserver', url: 'http://m', repository: '/m' };
  const builtin: RuntimeTarget = { name: 'default', kind: 'builtin', url: 'http://b', repository: '/b' };

  it.each([
    [mlserver, 'ml', 'sklearn', 'mlserver_sklearn.SKLearnModel'],
    [mlserver, 'ml', 'Scikit-Learn', 'mlserver_sklearn.SKLearnModel'],
    [mlserver, 'ml', 'xgboost', 'mlserver_xgboost.XGBoostModel'],
    [mlserver, 'ml', 'lightgbm', 'mlserver_lightgbm.LightGBMModel'],
    [mlserver, 'ml', 'mlflow', 'mlserver_mlflow.MLflowRuntime'],
    [builtin, 'ml', 'onnx', BUILTIN_IMPLEMENTATIONS.onnx],
    [builtin, 'rules', 'drools-export', BUILTIN_IMPLEMENTATIONS.rules],
    [builtin, 'other', 'json-rules', BUILTIN_IMPLEMENTATIONS.rules],
    [builtin, 'ml', 'json-linear', BUILTIN_IMPLEMENTATIONS.linear],
    [builtin, 'ml', 'linear', BUILTIN_IMPLEMENTATIONS.linear],
  ] as const)('%s target, kind %s, framework %s: %s', (target, kind, framework, implementation) => {
    expect(implementationFor(target, { kind, framework })).toBe(implementation);
  });

  it.each([
    [mlserver, 'ml', 'onnx'],
    [builtin, 'ml', 'sklearn'],
    [builtin, 'vendor', 'vendor:acme-score'],
  ] as const)('refuses %s target, kind %s, framework %s, naming all three', (target, kind, framework) => {
    expect(() => implementationFor(target, { kind, framework })).toThrow(RuntimeError);
    expect(() => implementationFor(target, { kind, framework })).toThrow(`deployment target "${target.name}" (${target.kind}) cannot serve framework "${framework}" (kind ${kind})`);
  });
});
