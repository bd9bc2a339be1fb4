// Writes docs/machines/<type>.json and <type>.md for every saga machine: `npm run machines:export`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { machineDocs } from '../src/machines/machine-docs.js';
import { sagaDefinitions } from '../src/machines/saga-catalog.js';

const MACHINE_DOCS_DIR = join(import.meta.dirname, '..', 'docs', 'machines');

mkdirSync(MACHINE_DOCS_DIR, { recursive: true });
for (const definition of sagaDefinitions) {
  const docs = machineDocs(definition);
  writeFileSync(join(MACHINE_DOCS_DIR, `${docs.type}.json`), docs.json);
  writeFileSync(join(MACHINE_DOCS_DIR, `${docs.type}.md`), docs.markdown);
  console.log(`docs/machines/${docs.type}.json, docs/machines/${docs.type}.md`);
}
