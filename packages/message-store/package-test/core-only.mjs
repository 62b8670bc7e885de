// Run by src/package.test.ts in a project that installed the packed package with zod and neither `pg` nor
// PGlite: the core entry must load and work without them.
import assert from 'node:assert/strict';
import { category, defineMessage, streamName } from 'message-db-toolkit';
import { z } from 'zod';

const Deposited = defineMessage('Deposited', z.object({ amount: z.number() }));
assert.equal(Deposited.create({ amount: 1 }).type, 'Deposited');
assert.equal(category(streamName('account', '123')), 'account');
for (const driver of ['pg', '@electric-sql/pglite'])
  await assert.rejects(import(driver), { code: 'ERR_MODULE_NOT_FOUND' }, `${driver} is not installed here`);
console.log('the core loaded without pg or PGlite');
