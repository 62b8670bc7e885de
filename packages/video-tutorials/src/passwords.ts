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

/** Verified against when the address is unknown: made as new hashes are, so it costs as much as a real check. */
export const UNKNOWN_USER_HASH: Promise<string> = hashPassword('not anyone’s password');
