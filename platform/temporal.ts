import { Client, Connection } from '@temporalio/client';
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

export async function connectClient(settings: TemporalSettings): Promise<Client> {
  const connection = await Connection.connect(connectionOptions(settings));
  return new Client({ connection, namespace: settings.namespace });
}

export async function connectWorker(settings: TemporalSettings): Promise<NativeConnection> {
  return NativeConnection.connect(connectionOptions(settings));
}
