import type { Observation } from '../../core/observation.js';
import { windowId, windowObservation } from './observation.js';
import type { Route } from './routing-table.js';
import { WindowAggregator, type ClosedWindow, type SampledExchange } from './window.js';

/** Where closed windows go: the version's lifecycle. `gone` means it has ended and will never take one. */
export type SendObservation = (modelVersionId: string, observation: Observation) => Promise<'sent' | 'gone'>;

export interface WindowsOptions {
  readonly windowMs: number;
  /** A window also closes once it has seen this many requests. */
  readonly maxRequests: number;
  readonly sampleSize?: number;
  /** Closed windows waiting to be sent, across deployments; beyond it the oldest are dropped and logged. */
  readonly maxPending?: number;
  readonly send: SendObservation;
  /** Each closed window, with its sample, for the catalog. */
  readonly closed?: (route: Route, observation: Observation, window: ClosedWindow) => void;
  readonly log?: (level: 'warn' | 'info', message: string, detail?: Record<string, unknown>) => void;
  readonly now?: () => number;
}

interface Open {
  readonly route: Route;
  window: WindowAggregator;
  /** Computed once per window: it is asked for on every request. */
  readonly id: string;
}

interface Pending {
  readonly route: Route;
  readonly observation: Observation;
  attempts: number;
}

/**
 * The gateway's windows, one open per deployment, and the queue of closed ones on their way to the
 * lifecycles. Each closed window is one signal with a deterministic id; a failed send stays queued and is
 * tried again at the next close, so a Temporal outage delays windows instead of losing them.
 */
export class GatewayWindows {
  private readonly open = new Map<string, Open>();
  private pending: Pending[] = [];
  private draining: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly now: () => number;
  private lastAttempt = -Infinity;
  dropped = 0;

  constructor(private readonly options: WindowsOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Closes due windows on a timer; `stop` flushes. */
  start(): void {
    const tick = Math.max(20, Math.min(1000, Math.floor(this.options.windowMs / 10)));
    this.timer = setInterval(() => this.closeDue(), tick);
    this.timer.unref();
  }

  private openOf(route: Route): Open {
    let open = this.open.get(route.deploymentId);
    if (!open) {
      const start = this.now();
      open = { route, window: new WindowAggregator(start, this.options.sampleSize ?? 20), id: windowId(route.deploymentId, start) };
      this.open.set(route.deploymentId, open);
    }
    return open;
  }

  private windowOf(route: Route): WindowAggregator {
    return this.openOf(route).window;
  }

  /** The id of the window a request to this deployment falls in now. */
  currentWindowId(route: Route): string {
    return this.openOf(route).id;
  }

  answered(route: Route, latencyMs: number, exchange?: () => SampledExchange): void {
    this.windowOf(route).answered(latencyMs, exchange);
    this.closeIfFull(route);
  }

  failed(route: Route): void {
    this.windowOf(route).failed();
    this.closeIfFull(route);
  }

  refused(route: Route): void {
    this.windowOf(route).refused();
    this.closeIfFull(route);
  }

  /** A shadow's comparison lands in the shadow's own window. */
  shadowCompared(route: Route, agreed: boolean, championLatencyMs: number): void {
    this.windowOf(route).shadowCompared(agreed, championLatencyMs);
  }

  private closeIfFull(route: Route): void {
    const open = this.open.get(route.deploymentId);
    if (open && open.window.requests >= this.options.maxRequests) {
      this.close(open);
      void this.drain();
    }
  }

  /** Closes every window that has been open for the window length; sends what is queued. */
  closeDue(): void {
    const now = this.now();
    let closed = false;
    for (const open of this.open.values()) {
      if (now - open.window.start >= this.options.windowMs) {
        this.close(open);
        closed = true;
      }
    }
    // Unsent windows are retried with the next close, or after a window's length when nothing closes.
    if (closed || (this.pending.length > 0 && now - this.lastAttempt >= this.options.windowMs)) void this.drain();
  }

  private close(open: Open): void {
    const end = Math.max(this.now(), open.window.start + 1);
    const window = open.window.close(end);
    this.open.delete(open.route.deploymentId);
    // An empty window says nothing: it is not sent.
    if (window.requests === 0 && !window.shadow) return;
    const observation = windowObservation(open.route.deploymentId, window);
    this.options.closed?.(open.route, observation, window);
    this.pending.push({ route: open.route, observation, attempts: 0 });
    const max = this.options.maxPending ?? 1000;
    if (this.pending.length > max) {
      const lost = this.pending.splice(0, this.pending.length - max);
      this.dropped += lost.length;
      this.options.log?.('warn', 'gateway windows dropped: too many waiting to be sent', { dropped: lost.length, windows: lost.map((p) => p.observation.id) });
    }
  }

  /** Sends the queued windows, one drain at a time; what fails stays queued for the next close. */
  private drain(): Promise<void> {
    this.draining ??= this.sendPending().finally(() => {
      this.draining = null;
    });
    return this.draining;
  }

  private async sendPending(): Promise<void> {
    this.lastAttempt = this.now();
    const batch = this.pending;
    this.pending = [];
    const retry: Pending[] = [];
    for (const item of batch) {
      try {
        const outcome = await this.options.send(item.route.modelVersionId, item.observation);
        if (outcome === 'gone') {
          this.options.log?.('info', 'gateway window not sent: the lifecycle has ended', { window: item.observation.id, modelVersionId: item.route.modelVersionId });
        }
      } catch (err) {
        item.attempts += 1;
        retry.push(item);
        this.options.log?.('warn', 'gateway window not sent; it is retried at the next close', {
          window: item.observation.id,
          modelVersionId: item.route.modelVersionId,
          attempts: item.attempts,
          err: err instanceof Error ? err.message : String(err),
        });
      }
    }
    this.pending = [...retry, ...this.pending];
  }

  /** Resolves once a send under way has finished (tests). */
  async idle(): Promise<void> {
    if (this.draining) await this.draining;
  }

  /** Windows closed but not yet delivered. */
  get waiting(): number {
    return this.pending.length;
  }

  /** Closes every open window and sends what can be sent: at shutdown, and in tests. */
  async flush(): Promise<void> {
    for (const open of [...this.open.values()]) this.close(open);
    if (this.draining) await this.draining;
    await this.drain();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }
}
