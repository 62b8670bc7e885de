import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { BCRYPT_COST, hashPassword, unknownUserHash, verifyPassword } from './passwords.js';

describe('passwords', () => {
  it('hashes with argon2id and verifies', async () => {
    const passwordHash = await hashPassword('correct horse battery');
    expect(passwordHash).toMatch(/^\$argon2id\$/);
    expect(await verifyPassword(passwordHash, 'correct horse battery')).toBe(true);
    expect(await verifyPassword(passwordHash, 'wrong')).toBe(false);
  });

  it('verifies bcrypt hashes written by the book’s system', async () => {
    const bookHash = await bcrypt.hash('book password', 10);
    expect(await verifyPassword(bookHash, 'book password')).toBe(true);
    expect(await verifyPassword(bookHash, 'book passwore')).toBe(false);
    expect(await verifyPassword('not a hash', 'x')).toBe(false);
  });

  it('hashes with bcrypt when asked (PASSWORD_HASH_ALGORITHM=bcrypt): the book’s log-in verifies it, and so does ours', async () => {
    const password = 'correct horse battery';
    const passwordHash = await hashPassword(password, 'bcrypt');
    // The format and cost the book's own hashes have: $2b$ (bcrypt's current version), cost 10, 22 + 31 characters.
    expect(passwordHash).toMatch(/^\$2[ab]\$10\$[./A-Za-z0-9]{53}$/);
    expect(BCRYPT_COST).toBe(10);
    expect(bcrypt.getRounds(passwordHash)).toBe(BCRYPT_COST);
    // What the book's authenticate application does with the hash in user_credentials.
    expect(await bcrypt.compare(password, passwordHash)).toBe(true);
    expect(await bcrypt.compare('correct horse batterY', passwordHash)).toBe(false);
    expect(await verifyPassword(passwordHash, password)).toBe(true);
    expect(await verifyPassword(passwordHash, 'wrong')).toBe(false);
    // A salt of its own each time.
    expect(await hashPassword(password, 'bcrypt')).not.toBe(passwordHash);
  });

  it('verifies against an unknown user’s hash of the algorithm new hashes are made with', async () => {
    expect(await unknownUserHash()).toMatch(/^\$argon2id\$/);
    expect(await unknownUserHash('bcrypt')).toMatch(/^\$2b\$10\$/);
    expect(await unknownUserHash('bcrypt')).toBe(await unknownUserHash('bcrypt'));
  });
});
