// Writes docs/machines/<type>.md for every saga type: `npm run machines:export`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { machineDocs } from '../src/machines/machine-docs.js';
import { registerSaga } from '../src/machines/register-saga.js';

const MACHINE_DOCS_DIR = join(import.meta.dirname, '..', 'docs', 'machines');

mkdirSync(MACHINE_DOCS_DIR, { recursive: true });
// Every saga type with the file its machine is written in.
const sagaTypes = [{ sagaType: registerSaga, source: 'src/machines/register-machine.ts' }];

for (const { sagaType, source } of sagaTypes) {
  const docs = machineDocs(sagaType, source);
  writeFileSync(join(MACHINE_DOCS_DIR, `${docs.type}.md`), docs.markdown);
  console.log(`docs/machines/${docs.type}.md`);
}
