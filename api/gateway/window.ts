import * as hdr from 'hdr-histogram-js';
import type { LatencySummary } from '../../core/observation.js';

/**
 * Latencies are kept in microseconds, 1 µs to 2 minutes, to 3 significant digits (a percentile is off by at
 * most 0.1%, on the high side), in a fixed ~80 kB whatever the traffic.
 */
const HIGHEST_MICROS = 120_000_000;
const newHistogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_MICROS, numberOfSignificantValueDigits: 3, autoResize: false });

/** What a window keeps of one scored request: its inputs and outputs, summarised. */
export interface SampledExchange {
  readonly requestId: string;
  readonly inputs: unknown;
  readonly outputs: unknown;
}

/** A deployment's closed window, before it becomes an observation. */
export interface ClosedWindow {
  readonly start: number;
  readonly end: number;
  readonly requests: number;
  readonly errors: number;
  /** Requests the runtime refused as malformed (4xx): the caller's mistake, not the model's error. */
  readonly rejected: number;
  readonly latencyMs: LatencySummary | null;
  readonly shadow: { compared: number; agreed: number; championP50Ms: number | null } | null;
  readonly sample: readonly SampledExchange[];
}

/**
 * One deployment's open window. Memory is bounded whatever the traffic: counts, two fixed-size
 * histograms and a reservoir sample of at most `sampleSize` exchanges (Algorithm R, so every request of the
 * window is equally likely to be in it).
 */
export class WindowAggregator {
  requests = 0;
  errors = 0;
  rejected = 0;
  private compared = 0;
  private agreed = 0;
  private readonly latency = newHistogram();
  private readonly championLatency = newHistogram();
  private readonly sample: SampledExchange[] = [];

  constructor(
    readonly start: number,
    private readonly sampleSize: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** An answered request, its latency in milliseconds. */
  /** `exchange` is only called when the request is sampled, so the summary costs nothing otherwise. */
  answered(latencyMs: number, exchange?: () => SampledExchange): void {
    this.requests += 1;
    this.latency.recordValue(micros(latencyMs));
    if (exchange) this.offer(exchange);
  }

  /** A request the runtime failed (5xx, timeout, no connection). */
  failed(): void {
    this.requests += 1;
    this.errors += 1;
  }

  /** A request the runtime refused as malformed: counted, but not as the model's error. */
  refused(): void {
    this.requests += 1;
    this.rejected += 1;
  }

  /** A shadow's answer compared with the champion's for the same request. */
  shadowCompared(agreed: boolean, championLatencyMs: number): void {
    this.compared += 1;
    if (agreed) this.agreed += 1;
    this.championLatency.recordValue(micros(championLatencyMs));
  }

  private offer(exchange: () => SampledExchange): void {
    if (this.sampleSize <= 0) return;
    if (this.sample.length < this.sampleSize) {
      this.sample.push(exchange());
      return;
    }
    const slot = Math.floor(this.random() * (this.requests - this.rejected - this.errors));
    if (slot < this.sampleSize) this.sample[slot] = exchange();
  }

  close(end: number): ClosedWindow {
    const answered = this.latency.totalCount > 0;
    return {
      start: this.start,
      end,
      requests: this.requests,
      errors: this.errors,
      rejected: this.rejected,
      latencyMs: answered
        ? { p50: millis(this.latency.getValueAtPercentile(50)), p95: millis(this.latency.getValueAtPercentile(95)), p99: millis(this.latency.getValueAtPercentile(99)) }
        : null,
      shadow:
        this.compared > 0 || this.championLatency.totalCount > 0
          ? { compared: this.compared, agreed: this.agreed, championP50Ms: this.championLatency.totalCount > 0 ? millis(this.championLatency.getValueAtPercentile(50)) : null }
          : null,
      sample: [...this.sample],
    };
  }
}

const micros = (ms: number) => Math.min(HIGHEST_MICROS, Math.max(1, Math.round(ms * 1000)));
const millis = (us: number) => Math.round(us) / 1000;
