import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { adminsOnlyPage } from './error-pages.js';
import type { SessionUser } from './server.js';

/**
 * Who may use a route, attached to the route itself (a preHandler of the route or of the
 * encapsulated plugin that declares it), never decided from the raw URL: Fastify routes
 * `/%63reators-portal` to the same handler as `/creators-portal`, so a prefix test on
 * `request.url` is no guard. Every check of who the user is belongs here, in one place.
 */

/** Signed-in users only: others go to the log-in page, and come back afterwards. */
export async function requireUser(request: FastifyRequest, reply: FastifyReply) {
  if (!request.user) return reply.redirect(`/auth/log-in?returnTo=${encodeURIComponent(request.url)}`);
}

/**
 * Whether a signed-in user has the admin role: an address listed in `ADMIN_EMAILS` (compared without case)
 * and confirmed by its owner, so registering a listed address is not enough.
 */
export function isAdmin(user: SessionUser | null, adminEmails: ReadonlySet<string>): boolean {
  return user !== null && user.emailConfirmed === true && adminEmails.has(user.email.toLowerCase());
}

/** Admins only: anonymous users go to the log-in page, other users get 403. */
export function requireAdmin(adminEmails: readonly string[]): preHandlerAsyncHookHandler {
  const admins = new Set(adminEmails.map((email) => email.toLowerCase()));
  return async function requireAdminRole(request, reply) {
    if (!request.user) return requireUser(request, reply);
    if (!isAdmin(request.user, admins))
      return reply.view(
        adminsOnlyPage({ email: request.user.email, emailConfirmed: request.user.emailConfirmed === true }),
        403,
      );
  };
}
