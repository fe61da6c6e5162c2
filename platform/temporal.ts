import type { Tracer } from '@opentelemetry/api';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor, type ClientInterceptors } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { NativeConnection } from '@temporalio/worker';
import { temporalTlsOptions, type TemporalSettings } from './config.js';

function connectionOptions(settings: TemporalSettings) {
  const tls = temporalTlsOptions(settings);
  return {
    address: settings.address,
    ...(tls !== undefined ? { tls } : {}),
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
  };
}

/**
 * gRPC interceptors for the API's connection. The API answers people, so a Temporal outage should become a
 * 503 within about a second rather than after the SDK's default ten retries (some 20 s); workers and the
 * CLI keep the patient default.
 */
export function failFastInterceptors() {
  return [makeGrpcRetryInterceptor(defaultGrpcRetryOptions({ maxAttempts: 3 }))];
}

/** Starting, signalling and querying a workflow each make a client span whose context travels in the headers. */
export function tracingClientInterceptors(tracer?: Tracer): ClientInterceptors {
  return { workflow: [new OpenTelemetryWorkflowClientInterceptor(tracer ? { tracer } : {})] };
}

export async function connectClient(settings: TemporalSettings, { failFast = false, tracer }: { failFast?: boolean; tracer?: Tracer } = {}): Promise<Client> {
  const connection = await Connection.connect({ ...connectionOptions(settings), ...(failFast ? { interceptors: failFastInterceptors() } : {}) });
  return new Client({ connection, namespace: settings.namespace, interceptors: tracingClientInterceptors(tracer) });
}

export async function connectWorker(settings: TemporalSettings): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(settings));
}
