import { z } from 'zod';

/**
 * A link e-mailed for one account (to confirm its address, to unlock it, to choose a new password): its user id,
 * and a token only identity can check.
 */
export const emailedLink = z.object({
  userId: z.uuid(),
  token: z.string().regex(/^[A-Za-z0-9_-]{20,200}$/),
});

/** The link's fields in the form its page posts, as typed: the route checks them (`emailedLink`) and answers a bad one. */
export const emailedLinkFields = { userId: z.unknown().optional(), token: z.unknown().optional() };
