import { pino, type Logger } from 'pino';

/** Structured logs; credentials never reach them (see the redact paths). */
export function createLogger(level: string, name: string): Logger {
  return pino({
    name,
    level,
    redact: { paths: ['req.headers.authorization', 'headers.authorization', 'token'], censor: '[redacted]' },
  });
}
