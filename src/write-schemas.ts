/** `npm run schemas`: writes scenarios/schema/*.schema.json from src/schemas.ts. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from './core/paths.js';
import { SCHEMA_FILES } from './schemas.js';

for (const [file, build] of Object.entries(SCHEMA_FILES)) {
  writeFileSync(path.join(PACKAGE_ROOT, 'scenarios', 'schema', file), `${JSON.stringify(build(), null, 2)}\n`);
}
