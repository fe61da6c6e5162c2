import { readFile, writeFile } from 'node:fs/promises';
import { CliError } from './http.js';

/** Why a file could not be read or written, in words rather than an errno. */
const PROBLEMS: Record<string, string> = {
  ENOENT: 'no such file',
  EISDIR: 'is a directory, not a file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ENOTDIR: 'a parent of it is not a directory',
};

const fileProblem = (err: unknown) => {
  const code = (err as NodeJS.ErrnoException).code;
  return (code && PROBLEMS[code]) ?? (err instanceof Error ? err.message : String(err));
};

/** The text of a file the user named; a missing or unreadable file is one line naming it, never a stack trace. */
export async function readTextFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new CliError(`${file}: cannot read it: ${fileProblem(err)}`);
  }
}

/** A JSON document from a file the user named (a bundle, a history). */
export async function readJsonFile(file: string): Promise<unknown> {
  const text = await readTextFile(file);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    // JSON.parse quotes the text around the error, line breaks included: keep the message on one line.
    throw new CliError(`${file}: is not JSON: ${(err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ')}`);
  }
}

export async function writeTextFile(file: string, text: string, mode?: number): Promise<void> {
  try {
    await writeFile(file, text, mode === undefined ? {} : { mode });
  } catch (err) {
    throw new CliError(`${file}: cannot write it: ${fileProblem(err)}`);
  }
}
