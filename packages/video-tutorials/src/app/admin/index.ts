import { createParkingLot, type MessageStore, type ParkedMessage, type Queryable } from 'message-db-toolkit';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import { tracePositions, userPositions } from '../../aggregators/admin-message-index/index.js';
import { listCategories } from '../../aggregators/admin-streams/index.js';
import {
  listSubscriberPositions,
  type SubscriberPosition,
} from '../../aggregators/admin-subscriber-positions/index.js';
import { findAdminUser, listUsers } from '../../aggregators/admin-users/index.js';
import { listOverdueRegistrations } from '../../aggregators/registration-monitor/index.js';
import { authenticationStreamName } from '../../contracts/authentication.js';
import { identityCommandStreamName, UnlockAccount } from '../../contracts/identity.js';
import { VideoViewed } from '../../contracts/viewing.js';
import { requireAdmin } from '../../web/guards.js';
import { carriedOnBy, readsOf } from './consumers.js';
import { STREAM_SCAN_WINDOW, storeBrowser } from 'message-db-toolkit';
import {
  badRequestPage,
  categoriesPage,
  consumersPage,
  healthPage,
  messagePage,
  messagesPage,
  notFoundPage,
  query,
  streamPage,
  streamHref,
  streamsPage,
  tracePage,
  userHref,
  userPage,
  usersPage,
  type ConsumerStatus,
} from './pages.js';
import { formBody, parseResult, zodRoutes } from '../../web/input.js';
import { requestMetadata } from '../../web/request-metadata.js';
import { olderThan, pageLinks, pageOf } from './paging.js';

export interface AdminOptions {
  store: MessageStore;
  viewData: Queryable;
  /** The e-mail addresses of the users with the admin role, lower-cased (`ADMIN_EMAILS`). */
  adminEmails: string[];
  /** How many messages a page of streams scans at most (`STREAM_SCAN_WINDOW` unless told). */
  streamScanWindow?: number;
}

const PAGE_SIZE = 50;
const ACTIVITY_SIZE = 20;
const TRACE_LIMIT = 1000;
/** Consumers record their position every 100 messages: fewer unread is not lag. */
const LAGGING_AT = 100;
/** Unread messages are counted up to this many, so a consumer far behind costs no more to show. */
const UNREAD_COUNTED_UP_TO = 1000;
const PARKING_CATEGORY = 'parkedMessages';
/** The health page lists this many parked messages and flagged registrations, newest first. */
const LISTED = 50;

/** Any UUID: messages written by other systems need not be RFC 4122 ones. */
const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'not a UUID');
const position = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const name = z
  .string()
  .trim()
  .max(200)
  .optional()
  .transform((value) => value || undefined);
const messagesQuery = z.object({ before: position.optional(), after: position.optional(), category: name, type: name });
const streamsQuery = z.object({ before: position.optional(), category: name });
const usersQuery = z.object({
  search: z.string().trim().max(254).optional(),
  afterEmail: z.string().max(300).optional(),
  afterId: uuid.optional(),
});
const userParams = z.object({ userId: uuid.transform((value) => value.toLowerCase()) });
// The trace id of the unlock request: whatever the server made it, shown escaped and linked encoded.
const userQuery = z.object({ before: position.optional(), unlockRequested: z.string().min(1).max(200).optional() });
const messageParams = z.object({ messageId: uuid });
const traceParams = z.object({ traceId: z.string().min(1).max(200) });
const streamParams = z.object({ streamName: z.string().min(1).max(500) });
const streamQuery = z.object({ before: position.optional() });
/** The notice that a retry was asked for; none when the link names no message. */
const healthQuery = z.object({ retryRequested: uuid.optional().catch(undefined) });
const retryForm = z.object({ subscriberId: z.string().min(1).max(200), messageId: uuid });
/** The form's fields, checked by the route (`retryForm`): a message it cannot find is answered with a 404. */
const retryFormBody = formBody({ subscriberId: z.unknown().optional(), messageId: z.unknown().optional() });

/**
 * The admin portal (the book's chapter 13 and its exercises): system health, users, messages,
 * traces, streams, categories and consumers, for users with the admin role only. Every page reads
 * the admin View Data or an index of the message store: none scans more than a bounded window of messages.
 */
export function createAdminApp({
  store,
  viewData,
  adminEmails,
  streamScanWindow = STREAM_SCAN_WINDOW,
}: AdminOptions): FastifyPluginAsync {
  // The message store's own reads for browsing it: this application runs no SQL on its tables.
  const browse = storeBrowser(store);

  return async (plugin) => {
    const app = zodRoutes(plugin);
    // Encapsulated: this hook guards exactly the routes of this plugin, whatever the URL looked like.
    app.addHook('preHandler', requireAdmin(adminEmails));

    app.get('/admin', { schema: { querystring: healthQuery } }, async (request, reply) => {
      const positions = await listSubscriberPositions(viewData);
      const [consumers, parked, overdue, categories, headPosition] = await Promise.all([
        consumerStatuses(positions),
        parkedMessages(positions),
        listOverdueRegistrations(viewData),
        listCategories(viewData),
        browse.headOfAll(),
      ]);
      const page = healthPage({
        headPosition,
        messageCount: categories.reduce((sum, category) => sum + category.messageCount, 0),
        streamCount: categories.reduce((sum, category) => sum + category.streamCount, 0),
        categoryCount: categories.length,
        consumers,
        lagging: consumers.filter((consumer) => (consumer.unread ?? 0) >= LAGGING_AT),
        laggingAt: LAGGING_AT,
        unreadCountedUpTo: UNREAD_COUNTED_UP_TO,
        parked: parked.slice(0, LISTED),
        parkedCount: parked.length,
        overdue: overdue.slice(-LISTED).reverse(),
        overdueCount: overdue.length,
        notice: request.query.retryRequested
          ? 'Retry requested: the consumer handles the message again when it is next idle.'
          : undefined,
        csrfToken: reply.csrfToken(),
      });
      return reply.view(page);
    });

    app.post('/admin/parked-messages/retry', { schema: { body: retryFormBody } }, async (request, reply) => {
      const parsed = retryForm.safeParse(request.body);
      if (!parsed.success) return notFound(reply, 'There is no such parked message.');
      const { subscriberId, messageId } = parsed.data;
      const lot = createParkingLot(store, subscriberId);
      const parked = (await lot.list()).find((message) => message.messageId === messageId);
      if (!parked) return notFound(reply, 'There is no such parked message.');
      if (parked.state === 'parked') await lot.retry(messageId);
      return reply.redirect(`/admin${query({ retryRequested: messageId })}`, 303);
    });

    app.get('/admin/subscriber-positions', async (_request, reply) =>
      reply.view(consumersPage(await consumerStatuses(await listSubscriberPositions(viewData)), UNREAD_COUNTED_UP_TO)),
    );

    app.get('/admin/users', { schema: { querystring: parseResult(usersQuery) } }, async (request, reply) => {
      const parsed = request.query;
      if (!parsed.success) return badRequest(reply);
      const { search = '', afterEmail, afterId } = parsed.data;
      const after = afterEmail !== undefined && afterId ? { emailKey: afterEmail, id: afterId } : undefined;
      const { users, next } = await listUsers(viewData, {
        ...(search ? { search } : {}),
        ...(after ? { after } : {}),
        limit: PAGE_SIZE,
      });
      const page = usersPage({
        users,
        search,
        next: next ? `/admin/users${query({ search, afterEmail: next.emailKey, afterId: next.id })}` : null,
        first: after ? `/admin/users${query({ search })}` : null,
      });
      return reply.view(page);
    });

    const userRoute = { schema: { params: parseResult(userParams), querystring: parseResult(userQuery) } };
    app.get('/admin/users/:userId', userRoute, async (request, reply) => {
      const { params, query: parsed } = request;
      if (!params.success) return notFound(reply, 'There is no such user.');
      if (!parsed.success) return badRequest(reply);
      const { userId } = params.data;
      const { before, unlockRequested } = parsed.data;
      const user = await findAdminUser(viewData, userId);
      if (!user) return notFound(reply, 'There is no such user (or the admin portal has not seen them yet).');
      const [logIns, viewingPositions, messagePositions] = await Promise.all([
        browse.streamMessages(authenticationStreamName(userId), { limit: ACTIVITY_SIZE }),
        userPositions(viewData, userId, { type: VideoViewed.type, limit: ACTIVITY_SIZE }),
        userPositions(viewData, userId, { ...olderThan(before), limit: PAGE_SIZE + 1 }),
      ]);
      const shown = pageOf(messagePositions, PAGE_SIZE);
      const [viewings, messages] = await Promise.all([
        browse.messagesAt(viewingPositions),
        browse.messagesAt(shown.items),
      ]);
      const page = userPage({
        user,
        logIns,
        viewings,
        messages,
        pages: pageLinks((start) => `${userHref(userId)}${query(start)}#messages`, {
          paged: before !== undefined,
          olderFrom: shown.more ? messages.at(-1)?.globalPosition : undefined,
        }),
        unlockRequested,
        csrfToken: reply.csrfToken(),
      });
      return reply.view(page);
    });

    // The book's account-locking exercise: an admin asks identity to unlock; identity decides.
    app.post('/admin/users/:userId/unlock', { schema: { params: parseResult(userParams) } }, async (request, reply) => {
      const params = request.params;
      if (!params.success || !UnlockAccount.schema.safeParse({ userId: params.data.userId }).success)
        return notFound(reply, 'There is no such user.');
      const { userId } = params.data;
      await store.write(
        identityCommandStreamName(userId),
        UnlockAccount.create({ userId }, { metadata: requestMetadata(request, request.user!.userId) }),
      );
      return reply.redirect(`${userHref(userId)}${query({ unlockRequested: request.traceId })}`, 303);
    });

    app.get('/admin/messages', { schema: { querystring: parseResult(messagesQuery) } }, async (request, reply) => {
      const parsed = request.query;
      if (!parsed.success) return badRequest(reply);
      const { before, after, category, type } = parsed.data;
      const page = {
        ...(category ? { category } : {}),
        ...olderThan(before),
        ...(after !== undefined && before === undefined ? { after } : {}),
        limit: PAGE_SIZE + 1,
      };
      // $all or Message DB's category index; with a type, a bounded search of the same range.
      const [search, categories] = await Promise.all([
        type ? browse.searchType({ ...page, type }) : undefined,
        listCategories(viewData),
      ]);
      const found = search ? await browse.messagesAt(search.positions) : await browse.latestMessages(page);
      const { items: messages, more } = pageOf(found, PAGE_SIZE, page.after !== undefined);
      const filters = { category, type };
      const newest = messages[0];
      const oldest = messages.at(-1);
      const paged = before !== undefined || after !== undefined;
      // A type search that stopped at its window goes on from where it stopped, found or not.
      const searchedOn = search && !more && !search.exhausted ? search.searchedTo : null;
      const olderFrom =
        page.after === undefined && searchedOn !== null
          ? searchedOn
          : oldest && (page.after !== undefined || more)
            ? oldest.globalPosition
            : page.after !== undefined && !oldest
              ? page.after + 1
              : undefined;
      const newerFrom =
        page.after !== undefined && searchedOn !== null
          ? searchedOn
          : paged && newest && (page.after === undefined || more)
            ? newest.globalPosition
            : undefined;
      const listing = messagesPage({
        messages,
        category: category ?? '',
        type: type ?? '',
        categories,
        searchedTo: searchedOn ?? undefined,
        pages: pageLinks((start) => `/admin/messages${query({ ...filters, ...start })}`, {
          paged,
          olderFrom,
          newerFrom,
        }),
      });
      return reply.view(listing);
    });

    app.get(
      '/admin/messages/:messageId',
      { schema: { params: parseResult(messageParams) } },
      async (request, reply) => {
        const params = request.params;
        const message = params.success ? await browse.messageById(params.data.messageId) : null;
        if (!message) return notFound(reply, 'There is no message with that id.');
        const causePosition = message.metadata.causationMessageGlobalPosition;
        const traceId = message.metadata.traceId;
        const [cause, traced] = await Promise.all([
          typeof causePosition === 'number' ? browse.messageAt(causePosition) : null,
          typeof traceId === 'string' ? tracePositions(viewData, traceId, TRACE_LIMIT) : [],
        ]);
        // Its effects are in its trace, after it.
        const later = traced.filter((position) => position > message.globalPosition);
        const effects = (await browse.messagesAt(later))
          .filter((effect) => effect.metadata.causationMessageGlobalPosition === message.globalPosition)
          .reverse();
        return reply.view(messagePage({ message, cause, effects }));
      },
    );

    app.get('/admin/traces/:traceId', { schema: { params: parseResult(traceParams) } }, async (request, reply) => {
      const params = request.params;
      if (!params.success) return notFound(reply, 'There is no such trace.');
      const { traceId } = params.data;
      const positions = await tracePositions(viewData, traceId, TRACE_LIMIT + 1);
      if (positions.length === 0) return notFound(reply, 'No message has that trace id (yet).');
      const messages = await browse.messagesAt(positions.slice(0, TRACE_LIMIT));
      return reply.view(tracePage(traceId, messages, positions.length > TRACE_LIMIT));
    });

    app.get('/admin/streams', { schema: { querystring: parseResult(streamsQuery) } }, async (request, reply) => {
      const parsed = request.query;
      if (!parsed.success) return badRequest(reply);
      const { before, category } = parsed.data;
      const [listing, categories] = await Promise.all([
        browse.listStreams({
          ...(category ? { category } : {}),
          ...olderThan(before),
          limit: PAGE_SIZE,
          window: streamScanWindow,
        }),
        listCategories(viewData),
      ]);
      const page = streamsPage({
        streams: listing.streams,
        category: category ?? '',
        categories,
        scanned: listing.scanned ?? undefined,
        scanWindow: streamScanWindow,
        ...pageLinks((start) => `/admin/streams${query({ category, ...start })}`, {
          paged: before !== undefined,
          olderFrom: listing.olderBefore ?? undefined,
        }),
      });
      return reply.view(page);
    });

    const streamRoute = { schema: { params: parseResult(streamParams), querystring: parseResult(streamQuery) } };
    app.get('/admin/streams/:streamName', streamRoute, async (request, reply) => {
      const { params, query: parsed } = request;
      if (!params.success) return notFound(reply, 'There is no such stream.');
      if (!parsed.success) return badRequest(reply);
      const { streamName } = params.data;
      const { before } = parsed.data;
      const [summary, found] = await Promise.all([
        browse.findStream(streamName),
        browse.streamMessages(streamName, { ...olderThan(before), limit: PAGE_SIZE + 1 }),
      ]);
      if (!summary && found.length === 0 && before === undefined)
        return notFound(reply, 'There is no stream with that name.');
      const { items: messages, more } = pageOf(found, PAGE_SIZE);
      const page = streamPage({
        streamName,
        summary,
        messages,
        pages: pageLinks((start) => `${streamHref(streamName)}${query(start)}`, {
          paged: before !== undefined,
          olderFrom: more ? messages.at(-1)?.position : undefined,
        }),
      });
      return reply.view(page);
    });

    app.get('/admin/categories', async (_request, reply) => reply.view(categoriesPage(await listCategories(viewData))));
  };

  /** A page of the portal saying that `what` is not there. */
  function notFound(reply: FastifyReply, what: string) {
    return reply.view(notFoundPage(what), 404);
  }

  /** A page of the portal saying that the address asks for what it cannot show. */
  function badRequest(reply: FastifyReply) {
    return reply.view(badRequestPage(), 400);
  }

  /** Every consumer's recorded position, with the head of what it reads and how much it has not read. */
  async function consumerStatuses(positions: SubscriberPosition[]): Promise<ConsumerStatus[]> {
    const known = positions
      .map((position) => ({ position, reads: readsOf(position.subscriberId) }))
      .filter((entry): entry is { position: SubscriberPosition; reads: string } => entry.reads !== null);
    const progress = await browse.readProgress(
      known.map(({ position, reads }) => ({ reads, position: position.position })),
      UNREAD_COUNTED_UP_TO,
    );
    const progressOf = new Map(known.map((entry, index) => [entry.position, progress[index]]));
    return positions.map((position) => {
      const found = progressOf.get(position);
      return {
        ...position,
        reads: readsOf(position.subscriberId),
        carriedOnBy: carriedOnBy(position.subscriberId),
        head: found ? found.head : null,
        unread: found ? found.unread : null,
      };
    });
  }

  /**
   * The parked messages of every consumer known: those that recorded a position, and those with a
   * parking lot.
   */
  async function parkedMessages(positions: SubscriberPosition[]): Promise<ParkedMessage[]> {
    const lots = await browse.listStreamNamesOfCategory(PARKING_CATEGORY);
    const subscriberIds = new Set([
      ...positions.map((position) => position.subscriberId),
      ...lots.map((lot) => lot.slice(PARKING_CATEGORY.length + 1)),
    ]);
    const parked = await Promise.all(
      [...subscriberIds].map((subscriberId) => createParkingLot(store, subscriberId).list()),
    );
    return parked.flat().sort((a, b) => b.parkedAt.localeCompare(a.parkedAt));
  }
}
