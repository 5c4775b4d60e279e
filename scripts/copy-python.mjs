// The build's second step: tsc compiles the TypeScript; the Python agent and the Python reference
// streamers are shipped as they are, copied beside the compiled JavaScript (dist/src/…), where
// compiled() resolves them from the installed package as it resolves the Node agent.
import { cpSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src');
let copied = 0;
for (const file of readdirSync(src, { recursive: true }).map(String)) {
  if (!file.endsWith('.py') || file.split(path.sep).includes('__pycache__')) continue;
  cpSync(path.join(src, file), path.join(root, 'dist', 'src', file));
  copied++;
}
if (copied === 0) throw new Error('scripts/copy-python.mjs: no .py file found under src/');
