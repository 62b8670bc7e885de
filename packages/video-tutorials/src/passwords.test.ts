import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from './passwords.js';

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
});
