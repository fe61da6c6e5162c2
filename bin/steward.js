#!/usr/bin/env node
// Runs the TypeScript CLI directly; Steward ships as source and runs under tsx.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
