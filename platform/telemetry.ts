import { context, propagation, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Runtime } from '@temporalio/worker';
import type { Logger } from 'pino';
import { temporalLogger } from './logger.js';

/** What the API hook and the Temporal interceptors need to make spans and hand them on. */
export interface Tracing {
  readonly tracer: Tracer;
  /** Where finished spans go; workflow spans reach it through the worker's sink. */
  readonly spanProcessor: SpanProcessor;
  readonly resource: Resource;
  /** Whether spans go anywhere: without an exporter, workers leave the workflow interceptors out of their bundle. */
  readonly exporting: boolean;
  /** Flushes spans still buffered (a process exiting). */
  shutdown(): Promise<void>;
}

let globalsSet = false;

/**
 * The active span travels with async calls (the API request into the client's StartWorkflow) and crosses
 * processes as a W3C `traceparent` header: the Temporal interceptors read and write it through these globals.
 */
export function ensureTracingGlobals(): void {
  if (globalsSet) return;
  globalsSet = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}

/**
 * Tracing for one process. Spans go to `spanProcessor` when given (tests), else to an OTLP/HTTP collector when
 * `otlpEndpoint` is set, else nowhere: by default Steward makes no network calls for telemetry.
 */
export function createTracing(options: { serviceName: string; otlpEndpoint?: string; spanProcessor?: SpanProcessor }): Tracing {
  ensureTracingGlobals();
  const spanProcessor =
    options.spanProcessor ??
    (options.otlpEndpoint
      ? new BatchSpanProcessor(new OTLPTraceExporter({ url: `${options.otlpEndpoint.replace(/\/+$/, '')}/v1/traces` }))
      : new NoopSpanProcessor());
  const resource = new Resource({ 'service.name': options.serviceName });
  const provider = new BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  const exporting = !(spanProcessor instanceof NoopSpanProcessor);
  return { tracer: provider.getTracer('steward'), spanProcessor, resource, exporting, shutdown: () => provider.shutdown() };
}

/**
 * Installs the Temporal SDK's Runtime (once per process, before any NativeConnection): its logs, Core's
 * native logs included, go to pino; its metrics are served in Prometheus text at `metricsAddress`/metrics
 * when given, under the SDK's usual names (`temporal_*`) so Temporal's SDK dashboards work unchanged.
 */
export function installTemporalRuntime(options: { logger: Logger; metricsAddress?: string; shutdownSignals?: NodeJS.Signals[] }): Runtime {
  return Runtime.install({
    logger: temporalLogger(options.logger),
    ...(options.shutdownSignals ? { shutdownSignals: options.shutdownSignals } : {}),
    telemetryOptions: {
      logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} },
      ...(options.metricsAddress ? { metrics: { prometheus: { bindAddress: options.metricsAddress } } } : {}),
    },
  });
}
