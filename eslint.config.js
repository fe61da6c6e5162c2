// @ts-check
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Node built-ins in both spellings: `fs` and `node:fs`. */
const nodeBuiltins = builtinModules
  .filter((name) => !name.startsWith('_'))
  .flatMap((name) => [name, `node:${name}`]);

/** Libraries that do I/O. Workflow code must reach them only through activities. */
const ioPackages = [
  'pg',
  'kysely',
  'kysely-pglite-dialect',
  '@electric-sql/pglite',
  'fastify',
  'pino',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
  '@temporalio/testing',
];

/** Imports deterministic code may not make: Node built-ins, I/O libraries, and values from Node-side modules. */
const deterministicPaths = [...nodeBuiltins, ...ioPackages].map((name) => ({
  name,
  message: 'Workflow code must be deterministic: no Node built-ins or I/O. Do this in an activity.',
}));
const deterministicPatterns = [
  { group: ['node:*'], message: 'Workflow code must not import Node built-ins.' },
  {
    group: ['**/activities/*', '**/activities', '**/catalog/*', '**/api/*', '**/platform/*', '**/workers/*'],
    allowTypeImports: true,
    message: 'Workflow code may import only types from activities and Node-side modules.',
  },
];

export default tseslint.config(
  { ignores: ['node_modules/**', '.steward/**', 'test/fixtures/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['eslint.config.js', 'bin/*.js', 'workflows/lint-probe.ts', 'activities/lint-probe.ts'] }, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Deterministic code: workflows, the templates they run and the pure domain model they import.
    files: ['workflows/**/*.ts', 'templates/**/*.ts', 'core/**/*.ts', 'workers/workflows.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: deterministicPaths, patterns: deterministicPatterns }],
      'no-restricted-globals': [
        'error',
        { name: 'process', message: 'Workflow code must not read the environment.' },
        { name: 'fetch', message: 'Workflow code must not do I/O. Use an activity.' },
        { name: 'require', message: 'Use ESM imports.' },
        { name: 'setInterval', message: 'Use sleep() or condition() from @temporalio/workflow.' },
      ],
    },
  },
  {
    // Code in the workflow bundle reaches zod only through the module the sandbox shares between workflows.
    files: ['workflows/**/*.ts', 'templates/**/*.ts', 'workers/workflows.ts'],
    ignores: ['workflows/dsl/zod.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: deterministicPaths,
          patterns: [
            ...deterministicPatterns,
            {
              group: ['zod', 'zod/*'],
              allowTypeImports: true,
              message: "Import { z } from workflows/dsl/zod.ts: the sandbox shares that copy between workflows instead of evaluating zod for each one (workers/bundle.ts).",
            },
          ],
        },
      ],
    },
  },
);
