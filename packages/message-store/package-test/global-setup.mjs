// A test runner's global setup that makes the PGlite template (README, "Testing with /controls"); run by
// template.mjs, which src/package.test.ts runs as an outsider would.
// #region template
// global-setup.js, named in vitest.config's test.globalSetup
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writePgliteTemplate } from 'message-db-toolkit/controls';

export default async function setup() {
  const file = path.join(tmpdir(), `pglite-template-${process.pid}.tar`);
  await writePgliteTemplate(file);
  process.env.TEST_PGLITE_TEMPLATE = file; // the test files' processes start later, and inherit it
  return () => rmSync(file, { force: true });
}
// #endregion
