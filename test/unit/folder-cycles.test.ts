import { describe, expect, it } from 'vitest';
import { folderCycles, folderGraph, sourceImports } from '../harness/folder-graph.js';

/**
 * No import cycles between top-level folders: each folder builds on the ones below it (core at the bottom),
 * so a change to a lower layer never has to know about the layers above. Type-only imports count too: a
 * cycle of types is still two folders that cannot be understood apart.
 */
describe('imports between top-level folders', () => {
  it('form no cycle', () => {
    const cycles = folderCycles(folderGraph(sourceImports(process.cwd())));
    expect(cycles, cycles.map((c) => c.path.join(' → ') + `\n    ${c.via.join('\n    ')}`).join('\n')).toEqual([]);
  });

  it('finds a cycle and names the imports that close it', () => {
    const cycles = folderCycles(
      folderGraph([
        { from: 'activities/deployment.ts', to: 'catalog/projection.ts' },
        { from: 'catalog/projection.ts', to: 'core/deployment.ts' },
        { from: 'catalog/projection.ts', to: 'workflows/messages.ts' },
        { from: 'workflows/messages.ts', to: 'activities/deployment.ts' },
      ]),
    );
    expect(cycles).toHaveLength(1);
    expect(cycles[0]!.path).toEqual(['activities', 'catalog', 'workflows', 'activities']);
    expect(cycles[0]!.via).toContain('workflows/messages.ts → activities/deployment.ts');
  });
});
