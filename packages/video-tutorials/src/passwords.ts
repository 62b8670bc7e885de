import { hash, verify } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';

/** New passwords are hashed with argon2id (the library's defaults: 19 MiB, 2 passes). */
export function hashPassword(password: string): Promise<string> {
  return hash(password);
}

/** Checks a password against an argon2id hash of ours or a bcrypt hash written by the book's system. */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  if (/^\$2[aby]\$/.test(passwordHash)) return bcrypt.compare(password, passwordHash);
  if (passwordHash.startsWith('$argon2')) return verify(passwordHash, password);
  return false;
}

// Verifying against this when the address is unknown takes as long as a real check.
const UNKNOWN_USER_HASH = hash('not anyone’s password');
export async function spendVerificationTime(password: string): Promise<void> {
  await verify(await UNKNOWN_USER_HASH, password);
}
