import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
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

export async function connectClient(settings: TemporalSettings, { failFast = false } = {}): Promise<Client> {
  const connection = await Connection.connect({ ...connectionOptions(settings), ...(failFast ? { interceptors: failFastInterceptors() } : {}) });
  return new Client({ connection, namespace: settings.namespace });
}

export async function connectWorker(settings: TemporalSettings): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(settings));
}
