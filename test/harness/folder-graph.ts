import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/**
 * The import graph between top-level folders, read with TypeScript's own import scanner (no type
 * checking, so the whole tree takes well under a second).
 */
export interface Import {
  readonly from: string;
  readonly to: string;
}

const SOURCE_ROOTS = ['activities', 'api', 'audit', 'bench', 'catalog', 'cli', 'core', 'events', 'evidence', 'platform', 'scripts', 'templates', 'workers', 'workflows'];

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(path);
    else if (/\.ts$/.test(entry.name) && !entry.name.endsWith('.d.ts')) yield path;
  }
}

/** Every relative import (static, dynamic, re-export, type-only) of the project's source folders. */
export function sourceImports(root: string): Import[] {
  const imports: Import[] = [];
  for (const top of SOURCE_ROOTS) {
    let files: string[];
    try {
      files = [...sourceFiles(join(root, top))];
    } catch {
      continue;
    }
    for (const file of files) {
      const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
      for (const { fileName } of importedFiles) {
        if (!fileName.startsWith('.')) continue;
        const target = resolve(dirname(file), fileName).replace(/\.js$/, '.ts');
        imports.push({ from: toPosix(relative(root, file)), to: toPosix(relative(root, target)) });
      }
    }
  }
  return imports;
}

const toPosix = (p: string) => p.split(sep).join('/');

export function unitOf(path: string): string {
  return path.split('/')[0]!;
}

/** Folder → folder edges, each with the file imports that make it. */
export function folderGraph(imports: readonly Import[]): Map<string, Map<string, string[]>> {
  const graph = new Map<string, Map<string, string[]>>();
  for (const { from, to } of imports) {
    const [a, b] = [unitOf(from), unitOf(to)];
    if (a === b || !to.includes('/')) continue;
    const edges = graph.get(a) ?? new Map<string, string[]>();
    graph.set(a, edges);
    edges.set(b, [...(edges.get(b) ?? []), `${from} → ${to}`]);
  }
  return graph;
}

export interface FolderCycle {
  /** The folders, first repeated at the end. */
  readonly path: readonly string[];
  /** The file imports along it. */
  readonly via: readonly string[];
}

/** One cycle per strongly connected group of folders (Tarjan), each named by one loop through it. */
export function folderCycles(graph: Map<string, Map<string, string[]>>): FolderCycle[] {
  const nodes = [...new Set([...graph.keys(), ...[...graph.values()].flatMap((e) => [...e.keys()])])].sort();
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const groups: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of [...(graph.get(v)?.keys() ?? [])].sort()) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = [];
      for (let w = stack.pop(); w !== undefined; w = w === v ? undefined : stack.pop()) group.push(w);
      if (group.length > 1) groups.push(group);
    }
  };
  for (const v of nodes) if (!index.has(v)) visit(v);
  return groups.map((group) => loopThrough(graph, group));
}

/** A shortest loop from the group's first folder back to itself, staying inside the group. */
function loopThrough(graph: Map<string, Map<string, string[]>>, group: readonly string[]): FolderCycle {
  const start = [...group].sort()[0]!;
  const previous = new Map<string, string>();
  const queue = [start];
  let end: string | undefined;
  while (queue.length && end === undefined) {
    const v = queue.shift()!;
    for (const w of [...(graph.get(v)?.keys() ?? [])].sort()) {
      if (!group.includes(w)) continue;
      if (w === start) {
        end = v;
        break;
      }
      if (!previous.has(w)) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  const path: string[] = [];
  for (let v = end; v !== undefined; v = previous.get(v)) path.unshift(v);
  const folders = path[0] === start ? [...path, start] : [start, ...path, start];
  const via = folders.slice(0, -1).flatMap((f, i) => graph.get(f)?.get(folders[i + 1]!) ?? []);
  return { path: folders, via };
}
