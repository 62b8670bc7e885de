/**
 * What `rebuild` needs to know of each aggregator: the View Data tables it
 * owns (it is their only writer), the stream it subscribes to and the
 * subscriber id its position is stored under — both as in its index.ts.
 *
 * Adding an aggregator? Add it here. A test checks that every folder in
 * src/aggregators/ whose index.ts exports `build` is listed, and that each
 * subscriber id matches the one its subscription really stores its position
 * under.
 */
import { ALL_STREAMS, type Database, type MessageStore, type Queryable, type StoredMessage } from 'message-db-toolkit';
import * as accountSessions from '../aggregators/account-sessions/index.js';
import * as adminMessageIndex from '../aggregators/admin-message-index/index.js';
import * as adminStreams from '../aggregators/admin-streams/index.js';
import * as adminSubscriberPositions from '../aggregators/admin-subscriber-positions/index.js';
import * as adminUsers from '../aggregators/admin-users/index.js';
import * as catalogue from '../aggregators/catalogue/index.js';
import * as creatorsVideos from '../aggregators/creators-videos/index.js';
import * as homePage from '../aggregators/home-page/index.js';
import * as registrationMonitor from '../aggregators/registration-monitor/index.js';
import * as userCredentials from '../aggregators/user-credentials/index.js';
import * as videoOperations from '../aggregators/video-operations/index.js';
import * as videoViews from '../aggregators/video-views/index.js';
import { sessionCategory } from '../contracts/authentication.js';
import { identityCategory } from '../contracts/identity.js';
import { videoPublishingCategory } from '../contracts/video-publishing.js';
import { viewingCategory } from '../contracts/viewing.js';

export interface OwnedTable {
  /** The table in the public schema, e.g. `pages`. */
  name: string;
  /**
   * Rows the table starts with, as its migration inserts them; SQL with
   * unqualified table names (it runs with the new tables first on the search path).
   */
  seed?: string;
}

export interface RebuildableAggregator {
  /** The aggregator's folder under src/aggregators/, e.g. `home-page`. */
  name: string;
  /** Its piece name in system.ts, accepted too, e.g. `home-page-aggregator`. */
  piece: string;
  /** The category it subscribes to (or `$all`). */
  streamName: string;
  /** As in its `aggregatorSubscription`: its position is the row of `consumer_positions` with this key. */
  subscriberId: string;
  tables: readonly OwnedTable[];
  /** Builds the aggregator (without starting it); `rebuild` uses its `apply`. */
  build: (deps: { store: MessageStore; viewData: Database }) => {
    apply: (messages: StoredMessage[], tx: Queryable) => Promise<void>;
  };
}

export const REBUILDABLE_AGGREGATORS: readonly RebuildableAggregator[] = [
  {
    name: 'home-page',
    piece: 'home-page-aggregator',
    streamName: viewingCategory,
    subscriberId: 'aggregators:home-page',
    // As migration 0001-pages seeds it.
    tables: [
      {
        name: 'pages',
        seed: `INSERT INTO pages (page_name, page_data) VALUES ('home', '{"videosWatched": 0}'::jsonb)`,
      },
    ],
    build: homePage.build,
  },
  {
    name: 'user-credentials',
    piece: 'user-credentials-aggregator',
    streamName: identityCategory,
    subscriberId: 'aggregators:user-credentials',
    tables: [{ name: 'user_credentials' }],
    build: userCredentials.build,
  },
  {
    name: 'account-sessions',
    piece: 'account-sessions-aggregator',
    streamName: sessionCategory,
    subscriberId: accountSessions.ACCOUNT_SESSIONS_SUBSCRIBER_ID,
    tables: [{ name: 'account_sessions' }],
    build: accountSessions.build,
  },
  {
    name: 'registration-monitor',
    piece: 'registration-monitor',
    streamName: identityCategory,
    subscriberId: 'aggregators:registration-monitor',
    // overdue_since is set by the monitor's timer, not by messages: a rebuild clears it and the next check sets it again.
    tables: [{ name: 'registration_emails' }, { name: 'registration_outcomes' }],
    build: registrationMonitor.build,
  },
  {
    name: 'creators-videos',
    piece: 'creators-videos-aggregator',
    streamName: videoPublishingCategory,
    subscriberId: 'aggregators:creators-videos',
    tables: [{ name: 'creators_portal_videos' }],
    build: creatorsVideos.build,
  },
  {
    name: 'catalogue',
    piece: 'catalogue-aggregator',
    streamName: videoPublishingCategory,
    subscriberId: 'aggregators:catalogue',
    tables: [{ name: 'video_catalogue' }],
    build: catalogue.build,
  },
  {
    name: 'video-operations',
    piece: 'video-operations-aggregator',
    streamName: videoPublishingCategory,
    subscriberId: 'aggregators:video-operations',
    tables: [{ name: 'video_operations' }],
    build: videoOperations.build,
  },
  {
    name: 'video-views',
    piece: 'video-views-aggregator',
    streamName: viewingCategory,
    subscriberId: 'aggregators:video-views',
    tables: [{ name: 'video_view_counts' }],
    build: videoViews.build,
  },
  // The admin portal's aggregators read $all (in commit order, as their subscriptions do).
  {
    name: 'admin-users',
    piece: 'admin-users-aggregator',
    streamName: ALL_STREAMS,
    subscriberId: adminUsers.ADMIN_USERS_SUBSCRIBER_ID,
    tables: [{ name: 'admin_users' }],
    build: adminUsers.build,
  },
  {
    name: 'admin-streams',
    piece: 'admin-streams-aggregator',
    streamName: ALL_STREAMS,
    subscriberId: adminStreams.ADMIN_STREAMS_SUBSCRIBER_ID,
    // Streams are read from Message DB's own indexes: it keeps only the counts per category.
    tables: [{ name: 'admin_categories' }],
    build: adminStreams.build,
  },
  {
    name: 'admin-subscriber-positions',
    piece: 'admin-subscriber-positions-aggregator',
    streamName: ALL_STREAMS,
    subscriberId: adminSubscriberPositions.ADMIN_SUBSCRIBER_POSITIONS_SUBSCRIBER_ID,
    tables: [{ name: 'admin_subscriber_positions' }],
    build: adminSubscriberPositions.build,
  },
  {
    name: 'admin-message-index',
    piece: 'admin-message-index-aggregator',
    streamName: ALL_STREAMS,
    subscriberId: adminMessageIndex.ADMIN_MESSAGE_INDEX_SUBSCRIBER_ID,
    tables: [{ name: 'admin_messages_by_trace' }, { name: 'admin_messages_by_user' }],
    build: adminMessageIndex.build,
  },
];

export const rebuildableNames = (registry: readonly RebuildableAggregator[] = REBUILDABLE_AGGREGATORS) =>
  registry.map((aggregator) => aggregator.name);

export class UnknownAggregatorError extends Error {
  override name = 'UnknownAggregatorError';
  constructor(
    readonly requested: string,
    readonly validNames: string[],
  ) {
    super(`Unknown aggregator "${requested}": choose one of ${validNames.join(', ')}`);
  }
}

/** The aggregator by its name or its piece name. */
export function findRebuildableAggregator(
  name: string,
  registry: readonly RebuildableAggregator[] = REBUILDABLE_AGGREGATORS,
): RebuildableAggregator {
  const found = registry.find((aggregator) => aggregator.name === name || aggregator.piece === name);
  if (!found) throw new UnknownAggregatorError(name, rebuildableNames(registry));
  return found;
}
