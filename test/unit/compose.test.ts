import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { STEWARD_SEARCH_ATTRIBUTES } from '../../core/search-attributes.js';
import { ENV_VARS, loadConfig } from '../../platform/config.js';

/**
 * There is no Docker engine here, so docker-compose.yml is checked statically: the services exist, and the
 * wiring between them agrees with what Steward's configuration code reads.
 */
interface Service {
  image?: string;
  build?: string;
  command?: string[] | string;
  environment?: Record<string, string>;
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
}
const compose = parse(readFileSync('docker-compose.yml', 'utf8'), { merge: true }) as { services: Record<string, Service> };
const { services } = compose;
const service = (name: string): Service => {
  const s = services[name];
  if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
  return s;
};
const hostPort = (address: string) => {
  const url = new URL(address.includes('://') ? address : `tcp://${address}`);
  return { host: url.hostname, port: Number(url.port) };
};
const containerPorts = (s: Service) => (s.ports ?? []).map((p) => Number(p.split(':').pop()));

describe('docker-compose.yml', () => {
  it('describes postgres, temporal on postgres, temporal-ui, the worker and the api', () => {
    expect(Object.keys(services)).toEqual(expect.arrayContaining(['postgres', 'temporal', 'temporal-ui', 'worker', 'api']));
    expect(service('temporal').environment?.DB).toMatch(/^postgres/);
    expect(service('temporal').environment?.POSTGRES_SEEDS).toBe('postgres');
    expect(service('worker').command).toEqual(['npm', 'run', 'worker']);
    expect(service('api').command).toEqual(['npm', 'run', 'api']);
  });

  it.each(['worker', 'compute-worker', 'api'])('gives the %s only variables the code reads, and a valid configuration', (name) => {
    const env = service(name).environment ?? {};
    for (const key of Object.keys(env)) expect(ENV_VARS).toContain(key);
    const config = loadConfig(env);
    expect(config.catalog.kind).toBe('postgres');

    const temporal = hostPort(config.temporal.address);
    expect(Object.keys(services)).toContain(temporal.host);
    expect(containerPorts(service(temporal.host))).toContain(temporal.port);

    const db = new URL(env.DATABASE_URL!);
    const pg = service(db.hostname).environment!;
    expect([db.username, db.password, db.pathname.slice(1)]).toEqual([pg.POSTGRES_USER, pg.POSTGRES_PASSWORD, pg.POSTGRES_DB]);
    expect(Number(db.port)).toBe(5432);
    expect(containerPorts(service(db.hostname))).toContain(5432);
  });

  it('publishes the api on the port it listens on, on all interfaces', () => {
    const env = service('api').environment!;
    const config = loadConfig(env);
    expect(config.host).toBe('0.0.0.0');
    expect(containerPorts(service('api'))).toContain(config.port);
  });

  it('points the UI at the Temporal frontend', () => {
    expect(service('temporal-ui').environment?.TEMPORAL_ADDRESS).toBe(service('worker').environment?.TEMPORAL_ADDRESS);
  });

  it("registers exactly Steward's search attributes", () => {
    const command = [service('temporal-setup').command].flat().join(' ');
    const registered = [...command.matchAll(/--name (\w+) --type (\w+)/g)].map((m) => `${m[1]}=${m[2]}`);
    expect(registered.sort()).toEqual(STEWARD_SEARCH_ATTRIBUTES.map((k) => `${k.name}=Keyword`).sort());
  });

  it('starts the worker and api only after their dependencies are ready', () => {
    for (const name of ['worker', 'api']) {
      expect(service(name).depends_on).toMatchObject({
        postgres: { condition: 'service_healthy' },
        'temporal-setup': { condition: 'service_completed_successfully' },
      });
    }
  });
});

describe('docker-compose.yml evidence store', () => {
  it('shares one evidence volume between worker and api, mounted where STEWARD_EVIDENCE_DIR points', () => {
    for (const name of ['worker', 'api']) {
      const s = service(name) as Service & { volumes?: string[] };
      const dir = loadConfig(s.environment ?? {}).evidenceDir;
      expect(s.volumes).toContain(`evidence:${dir}`);
    }
  });
});
