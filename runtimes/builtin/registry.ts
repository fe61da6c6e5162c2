import { basename } from 'node:path';
import type { RepositoryEntry } from '../protocol.js';
import { modelNotFound, RuntimeError } from './errors.js';
import { instantiate } from './implementations.js';
import type { LoadedModel } from './model.js';
import { scanRepository, type ModelSettings } from './settings.js';

export interface Served {
  readonly name: string;
  readonly version: string | undefined;
  readonly model: LoadedModel;
}

/**
 * The runtime's models, one copy per name, as MLServer's model repository extension keeps them: load finds
 * the name's model-settings.json in the repository, a second load replaces the copy in place (the old one
 * serves until the new one is ready), unload drops it. Loads and unloads of one name run one at a time.
 */
export class ModelRegistry {
  private readonly served = new Map<string, Served>();
  /** Names being loaded, and names whose last load failed (with why). */
  private readonly transient = new Map<string, { state: 'LOADING' | 'LOADFAILED'; reason: string }>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly repository: string) {}

  get(name: string, version?: string): Served {
    const served = this.served.get(name);
    if (!served || (version !== undefined && served.version !== version)) throw modelNotFound(name, version);
    return served;
  }

  load(name: string): Promise<void> {
    return this.serialised(name, async () => {
      const settings = await this.find(name);
      this.transient.set(name, { state: 'LOADING', reason: '' });
      let model: LoadedModel;
      try {
        model = await instantiate(settings);
      } catch (err) {
        const reason = (err as Error).message;
        this.transient.set(name, { state: 'LOADFAILED', reason });
        throw new RuntimeError(400, `Model ${name} could not be loaded: ${reason}`);
      }
      const previous = this.served.get(name);
      this.served.set(name, { name, version: settings.version, model });
      this.transient.delete(name);
      await previous?.model.release();
    });
  }

  unload(name: string): Promise<void> {
    return this.serialised(name, async () => {
      const served = this.served.get(name);
      if (!served) throw modelNotFound(name);
      this.served.delete(name);
      this.transient.delete(name);
      await served.model.release();
    });
  }

  /** Every model in the repository and every loaded one, with its state; only READY ones when `readyOnly`. */
  async index(readyOnly: boolean): Promise<RepositoryEntry[]> {
    const rows = new Map<string, RepositoryEntry>();
    for (const file of await scanRepository(this.repository)) {
      const name = file.ok ? file.settings.name : file.name;
      if (rows.has(name)) continue;
      rows.set(name, { name, version: file.ok ? (file.settings.version ?? '') : '', state: 'UNAVAILABLE', reason: file.ok ? '' : file.problem });
    }
    for (const [name, t] of this.transient) rows.set(name, { ...(rows.get(name) ?? { name, version: '' }), state: t.state, reason: t.reason });
    for (const s of this.served.values()) rows.set(s.name, { name: s.name, version: s.version ?? '', state: 'READY', reason: '' });
    const all = [...rows.values()];
    return readyOnly ? all.filter((r) => r.state === 'READY') : all;
  }

  /** Releases every model (the server is closing). */
  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()]);
    const models = [...this.served.values()];
    this.served.clear();
    await Promise.all(models.map((s) => s.model.release()));
  }

  private async find(name: string): Promise<ModelSettings> {
    const matches = (await scanRepository(this.repository)).filter((f) => (f.ok ? f.settings.name : f.name) === name);
    const [first, ...others] = matches;
    if (!first) throw modelNotFound(name);
    if (others.length > 0) {
      const folders = matches.map((f) => (f.ok ? basename(f.settings.folder) : f.name)).join(', ');
      throw new RuntimeError(400, `Model ${name} is declared by more than one model-settings.json: ${folders}`);
    }
    if (!first.ok) throw new RuntimeError(400, `Model ${name} could not be loaded: ${first.problem}`);
    return first.settings;
  }

  private serialised(name: string, task: () => Promise<void>): Promise<void> {
    const previous = this.queues.get(name) ?? Promise.resolve();
    const next = previous.then(task, task);
    const settled = next.catch(() => undefined);
    this.queues.set(name, settled);
    void settled.then(() => {
      if (this.queues.get(name) === settled) this.queues.delete(name);
    });
    return next;
  }
}
