// Preloaded (node --import) into a service process by tests that check which packages it loads: every
// file it loads, through import or require(), is appended to the file named by RECORD_MODULES_TO.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const file = process.env.RECORD_MODULES_TO;
if (file) {
  // import: an ES module hook (it runs on the loaders' thread and writes there)
  register('./record-modules-hooks.mjs', import.meta.url, { data: { file } });
  // require(): every file it resolves, the CommonJS packages' own requires included
  const Module = createRequire(import.meta.url)('node:module');
  const resolveFilename = Module._resolveFilename;
  Module._resolveFilename = function recorded(...args) {
    const filename = resolveFilename.apply(this, args);
    appendFileSync(file, `${filename}\n`);
    return filename;
  };
}
