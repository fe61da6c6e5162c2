import { templates } from '../templates/index.js';
import { lockNewVersions, lockProblems } from './template-lock.js';

/** `npm run templates:lock`: records new template versions as released; fails if a released one changed. */
const root = process.cwd();
const added = lockNewVersions(root, templates.list());
const problems = lockProblems(root, templates.list());
for (const ref of added) process.stdout.write(`locked ${ref}\n`);
if (problems.length) {
  process.stderr.write(`${problems.join('\n')}\n`);
  process.exit(1);
}
