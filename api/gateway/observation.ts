import type { Observation } from '../../core/observation.js';
import type { ClosedWindow } from './window.js';

export const GATEWAY_REPORTER = 'gateway';

/**
 * A window's id: the deployment and the window's start, so a signal sent again after a failure is the same
 * window and the lifecycle judges it once.
 */
export const windowId = (deploymentId: string, start: number) => `gw:${deploymentId}:${new Date(start).toISOString()}`;

/** One closed window as the one observation its lifecycle receives. */
export function windowObservation(deploymentId: string, window: ClosedWindow): Observation {
  const kpis: Record<string, number> = { rejected_requests: window.rejected };
  if (window.latencyMs) {
    kpis.latency_p50_ms = window.latencyMs.p50;
    kpis.latency_p95_ms = window.latencyMs.p95;
    kpis.latency_p99_ms = window.latencyMs.p99;
  }
  if (window.shadow && window.shadow.compared > 0) kpis.shadow_agreement = window.shadow.agreed / window.shadow.compared;
  return {
    id: windowId(deploymentId, window.start),
    windowStart: new Date(window.start).toISOString(),
    windowEnd: new Date(window.end).toISOString(),
    requests: window.requests,
    errors: window.errors,
    kpis,
    reportedBy: GATEWAY_REPORTER,
    ...(window.latencyMs ? { latencyMs: window.latencyMs } : {}),
    ...(window.shadow
      ? {
          shadow: {
            compared: window.shadow.compared,
            agreed: window.shadow.agreed,
            ...(window.shadow.championP50Ms !== null ? { championP50Ms: window.shadow.championP50Ms } : {}),
          },
        }
      : {}),
  };
}
