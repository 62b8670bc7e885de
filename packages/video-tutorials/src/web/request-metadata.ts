import type { FastifyRequest } from 'fastify';
import type { MessageMetadata } from 'message-db-toolkit';

/**
 * The metadata of a message a request writes: the request's trace (so the admin can follow it) and
 * the user it is written for — the signed-in user, or the account the request is about.
 */
export function requestMetadata(request: FastifyRequest, userId: string): MessageMetadata {
  return { traceId: request.traceId, userId };
}
