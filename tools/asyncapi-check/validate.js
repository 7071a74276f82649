'use strict';
// node validate.js FILE...: parse each AsyncAPI document with @asyncapi/parser (the
// AsyncAPI Initiative's parser, which code generators use) and print one JSON line per file:
// whether it parsed without errors, the errors and warnings, and how many messages it has.
// Exits 1 when any file has an error.
const fs = require('node:fs');
const { Parser } = require('@asyncapi/parser');

const ERROR = 0;
const WARNING = 1;

async function main(files) {
  const parser = new Parser();
  let failed = 0;
  for (const file of files) {
    const { document, diagnostics } = await parser.parse(fs.readFileSync(file, 'utf8'));
    const describe = (d) => `${d.path.join('/')}: ${d.message}`;
    const errors = diagnostics.filter((d) => d.severity === ERROR).map(describe);
    const warnings = diagnostics.filter((d) => d.severity === WARNING).map(describe);
    const ok = Boolean(document) && errors.length === 0;
    const messages = document ? document.allMessages().length : 0;
    process.stdout.write(JSON.stringify({ file, ok, errors, warnings, messages }) + '\n');
    if (!ok) failed += 1;
  }
  process.exit(failed ? 1 : 0);
}

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(String(error && error.stack || error) + '\n');
  process.exit(2);
});
