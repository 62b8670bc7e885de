// Runs global-setup.mjs as a runner would, then the kit's test (store.test.mjs) in a process of its own that
// inherits TEST_PGLITE_TEMPLATE, then the teardown; prints what it saw for src/package.test.ts.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import setup from './global-setup.mjs';

const teardown = await setup();
const template = process.env.TEST_PGLITE_TEMPLATE;
const run = spawnSync(process.execPath, ['--test', '--test-reporter=tap', 'store.test.mjs'], { encoding: 'utf8' });
teardown();
if (run.status !== 0) throw new Error(`store.test.mjs failed on the template:\n${run.stdout}${run.stderr}`);
console.log(`template written: ${existsSync(template) ? 'still there' : 'removed by the teardown'}`);
console.log(run.stdout.match(/^# pass \d+$/m)?.[0]);
