import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { fileURLToPath } from 'node:url';

/** Opens the bytes behind an artifact or dataset URI; object stores plug in here. */
export async function openUri(uri: string): Promise<Readable> {
  const url = new URL(uri);
  if (url.protocol === 'file:') return createReadStream(fileURLToPath(url));
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    const res = await fetch(url);
    if (!res.ok || !res.body) throw new Error(`HTTP ${res.status} from ${uri}`);
    return Readable.fromWeb(res.body as WebReadableStream);
  }
  throw new Error(`no reader for ${url.protocol} URIs is configured`);
}
