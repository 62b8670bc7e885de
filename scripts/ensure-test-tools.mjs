#!/usr/bin/env node
// The test suite speaks test clips with espeak-ng, recognizes them with Debian's
// PocketSphinx, and drives Debian's Chromium in the browser test. On a fresh Debian
// machine where we are root, install them; anywhere else, say exactly what to install.
// Runs before `npm test` (the `pretest` script) and `npm run test:postgres`.
import { execFileSync, spawnSync } from 'node:child_process';

const PACKAGES = ['espeak-ng', 'pocketsphinx', 'pocketsphinx-en-us', 'chromium'];

const installed = (name) =>
  spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' }).stdout?.includes('install ok installed');
const hasDpkg = spawnSync('dpkg-query', ['--version']).status === 0;
const missing = hasDpkg ? PACKAGES.filter((name) => !installed(name)) : PACKAGES;

if (missing.length === 0) process.exit(0);

const canInstall = hasDpkg && process.getuid?.() === 0 && spawnSync('apt-get', ['--version']).status === 0;
if (!canInstall) {
  console.error(
    `The tests need ${missing.join(', ')}. Install them (Debian: apt-get install ${PACKAGES.join(' ')}) and run the tests again.`,
  );
  process.exit(1);
}
console.error(`Installing the test tools ${missing.join(', ')} from Debian's packages…`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env,
});
