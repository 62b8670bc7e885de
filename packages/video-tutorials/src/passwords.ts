import { hash, verify } from '@node-rs/argon2';
import bcrypt from 'bcryptjs';

/**
 * How new passwords are hashed (`PASSWORD_HASH_ALGORITHM`). `argon2id` is this system's; `bcrypt` is for a
 * migration during which the book's web pages run on the same message store: its log-in checks with bcrypt
 * only, so an argon2id hash made here would lock a user out of them.
 */
export const PASSWORD_HASH_ALGORITHMS = ['argon2id', 'bcrypt'] as const;
export type PasswordHashAlgorithm = (typeof PASSWORD_HASH_ALGORITHMS)[number];

/**
 * bcrypt's cost: the book's own (its hashes are `$2b$10$…`), so its pages and these verify ours as fast as the
 * book's, and none is weaker than the book's users' already are. bcryptjs runs on the event loop: more would
 * stall this system's web server on every log-in of such a user.
 */
export const BCRYPT_COST = 10;

/**
 * Hashes a new password: argon2id (the library's defaults: 19 MiB, 2 passes), or bcrypt as the book's
 * system does (`$2b$`, cost `BCRYPT_COST`; like any bcrypt, only the first 72 bytes of the password count).
 */
export function hashPassword(password: string, algorithm: PasswordHashAlgorithm = 'argon2id'): Promise<string> {
  return algorithm === 'bcrypt' ? bcrypt.hash(password, BCRYPT_COST) : hash(password);
}

/** Checks a password against an argon2id hash of ours or a bcrypt hash (the book's, or ours under `bcrypt`). */
export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  if (/^\$2[aby]\$/.test(passwordHash)) return bcrypt.compare(password, passwordHash);
  if (passwordHash.startsWith('$argon2')) return verify(passwordHash, password);
  return false;
}

const unknownUserHashes = new Map<PasswordHashAlgorithm, Promise<string>>();

/** Verified against when the address is unknown: made as new hashes are, so it costs as much as a real check. */
export function unknownUserHash(algorithm: PasswordHashAlgorithm = 'argon2id'): Promise<string> {
  let made = unknownUserHashes.get(algorithm);
  if (!made) unknownUserHashes.set(algorithm, (made = hashPassword('not anyone’s password', algorithm)));
  return made;
}
