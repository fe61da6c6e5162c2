/**
 * Credentials committed with a model package: well-known key formats by pattern, and long random-looking
 * tokens by Shannon entropy (assigned to a secret-sounding key, or standing alone at a higher threshold).
 * Text is scanned line by line as it streams; a match reports its line and a redacted preview, never the secret.
 */

export interface SecretHit {
  readonly kind: string;
  readonly line: number;
  /** The first characters only. */
  readonly preview: string;
  readonly critical: boolean;
}

interface Pattern {
  readonly kind: string;
  readonly re: RegExp;
  readonly critical?: boolean;
}

const PATTERNS: readonly Pattern[] = [
  { kind: 'AWS access key id', re: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/ },
  { kind: 'AWS secret access key', re: /aws_?secret_?(?:access_?)?key["']?\s*[:=]\s*["']?[A-Za-z0-9/+=]{40}\b/i },
  { kind: 'GitHub token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255})\b/ },
  { kind: 'private key', re: /-----BEGIN (?:RSA |DSA |EC |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----/, critical: true },
  { kind: 'Slack token', re: /\bxox[abposr]-[A-Za-z0-9-]{10,}/ },
  { kind: 'Slack webhook', re: /https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]+\/B[A-Z0-9]+\/[A-Za-z0-9]+/ },
  { kind: 'GCP service account key', re: /"type"\s*:\s*"service_account"|"private_key_id"\s*:\s*"[0-9a-f]{40}"/, critical: true },
  { kind: 'Google API key', re: /\bAIza[0-9A-Za-z_-]{35}\b/ },
  { kind: 'Stripe live key', re: /\b(?:sk|rk)_live_[0-9a-zA-Z]{24,}\b/ },
  { kind: 'OpenAI API key', re: /\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}T3BlbkFJ[A-Za-z0-9_-]{20,}/ },
  { kind: 'Hugging Face token', re: /\bhf_[A-Za-z0-9]{34,}\b/ },
];

/** A value assigned to a key that names a secret. */
const ASSIGNED = /(?:secret|token|passw(?:or)?d|api[_-]?key|access[_-]?key|credential)s?["']?\s*[:=]\s*["']?([A-Za-z0-9+/=_\-.~]{16,})/gi;
/** Candidate standalone tokens: long runs of base64/url-safe characters. */
const TOKEN = /[A-Za-z0-9+/_-]{32,}={0,2}/g;

/** Bits per character; hex tops out at 4, base64 at 6. */
export const ASSIGNED_ENTROPY = 3.5;
export const STANDALONE_ENTROPY = 4.5;

export function shannonEntropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

const redact = (s: string) => `${s.slice(0, 4)}…`;

/** Mixed letters and digits, as generated keys are (not a word, a path or a long identifier). */
const looksGenerated = (s: string) => /[0-9]/.test(s) && /[A-Z]/.test(s) && /[a-z]/.test(s);

export function secretsInLine(text: string, line: number): SecretHit[] {
  const hits: SecretHit[] = [];
  for (const p of PATTERNS) {
    const m = p.re.exec(text);
    if (m) hits.push({ kind: p.kind, line, preview: redact(m[0]), critical: p.critical ?? false });
  }
  if (hits.length) return hits;
  for (const m of text.matchAll(ASSIGNED)) {
    const value = m[1]!;
    if (shannonEntropy(value) >= ASSIGNED_ENTROPY && looksGenerated(value)) {
      return [{ kind: `high-entropy value (${shannonEntropy(value).toFixed(2)} bits/char) assigned to a secret-named key`, line, preview: redact(value), critical: false }];
    }
  }
  for (const m of text.matchAll(TOKEN)) {
    const value = m[0];
    const h = shannonEntropy(value);
    if (h >= STANDALONE_ENTROPY && looksGenerated(value)) {
      return [{ kind: `high-entropy token (${h.toFixed(2)} bits/char)`, line, preview: redact(value), critical: false }];
    }
  }
  return hits;
}

/** Longest line kept whole; longer lines are scanned in pieces of this size. */
const MAX_LINE = 1 << 16;
/** Hits kept per file; the count goes on. */
const MAX_HITS = 50;

/** Scans streamed text; `write` chunks, then `end()` for the hits. */
export class SecretScanner {
  private carry = '';
  private line = 1;
  private readonly hits: SecretHit[] = [];
  private readonly decoder = new TextDecoder('utf-8');
  total = 0;

  write(chunk: Buffer): void {
    this.feed(this.decoder.decode(chunk, { stream: true }));
  }

  end(): SecretHit[] {
    this.feed(this.decoder.decode());
    if (this.carry) this.scan(this.carry);
    this.carry = '';
    return this.hits;
  }

  private feed(text: string): void {
    let start = 0;
    const all = this.carry + text;
    for (let i = all.indexOf('\n'); i >= 0; i = all.indexOf('\n', start)) {
      this.scan(all.slice(start, i));
      this.line++;
      start = i + 1;
    }
    this.carry = all.slice(start);
    if (this.carry.length > MAX_LINE) {
      this.scan(this.carry);
      this.carry = '';
    }
  }

  private scan(text: string): void {
    if (text.length < 16) return;
    for (const hit of secretsInLine(text, this.line)) {
      this.total++;
      if (this.hits.length < MAX_HITS) this.hits.push(hit);
    }
  }
}
