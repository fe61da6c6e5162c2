/**
 * A failure the runtime answers with a status and the protocol's `{ "error": "..." }` body. Anything else
 * that escapes a handler is a fault of the runtime (500).
 */
export class RuntimeError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** A request the client got wrong: a bad tensor, a missing input, an unknown output. */
export const badRequest = (message: string): RuntimeError => new RuntimeError(400, message);

/** MLServer's wording, so one client's error handling fits both runtimes. */
export const modelNotFound = (name: string, version?: string): RuntimeError =>
  new RuntimeError(404, version ? `Model ${name} with version ${version} not found` : `Model ${name} not found`);
