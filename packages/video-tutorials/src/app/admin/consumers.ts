import { ALL_STREAMS, commandCategory } from 'message-db-toolkit';
import { ADMIN_MESSAGE_INDEX_SUBSCRIBER_ID } from '../../aggregators/admin-message-index/index.js';
import { ADMIN_STREAMS_SUBSCRIBER_ID } from '../../aggregators/admin-streams/index.js';
import { ADMIN_SUBSCRIBER_POSITIONS_SUBSCRIBER_ID } from '../../aggregators/admin-subscriber-positions/index.js';
import { ADMIN_USERS_SUBSCRIBER_ID } from '../../aggregators/admin-users/index.js';
import { ACCOUNT_SESSIONS_SUBSCRIBER_ID } from '../../aggregators/account-sessions/index.js';
import { authenticationCategory, sessionCategory } from '../../contracts/authentication.js';
import { identityCategory } from '../../contracts/identity.js';
import { sendEmailCategory } from '../../contracts/send-email.js';
import { transcodeCategory } from '../../contracts/transcode.js';
import { transcribeCategory } from '../../contracts/transcribe.js';
import { videoPublishingCategory } from '../../contracts/video-publishing.js';
import { viewingCategory } from '../../contracts/viewing.js';

/**
 * What each consumer of this system reads — a category or `$all` — by subscriber id, as the
 * components and aggregators subscribe (`subscriberId` in src/components and src/aggregators). The
 * admin portal needs it to tell how far behind a consumer is. Keep it in step when a consumer is
 * added: one missing here is shown without a lag (a test checks the system's own consumers).
 */
export const CONSUMER_READS: Readonly<Record<string, string>> = {
  'vt:identity:command': commandCategory(identityCategory),
  'vt:identity': identityCategory,
  'vt:identity:sendEmailEvents': sendEmailCategory,
  'vt:identity:authenticationEvents': authenticationCategory,
  'vt:send-email': commandCategory(sendEmailCategory),
  'components:transcode': commandCategory(transcodeCategory),
  'components:transcribe': commandCategory(transcribeCategory),
  'vt:video-publishing:command': commandCategory(videoPublishingCategory),
  'vt:video-publishing': videoPublishingCategory,
  'vt:video-publishing:transcodeEvents': transcodeCategory,
  'vt:video-publishing:transcribeEvents': transcribeCategory,
  'aggregators:home-page': viewingCategory,
  'aggregators:video-views': viewingCategory,
  'aggregators:user-credentials': identityCategory,
  'aggregators:registration-monitor': identityCategory,
  'aggregators:catalogue': videoPublishingCategory,
  'aggregators:creators-videos': videoPublishingCategory,
  'aggregators:video-operations': videoPublishingCategory,
  [ACCOUNT_SESSIONS_SUBSCRIBER_ID]: sessionCategory,
  [ADMIN_USERS_SUBSCRIBER_ID]: ALL_STREAMS,
  [ADMIN_STREAMS_SUBSCRIBER_ID]: ALL_STREAMS,
  [ADMIN_SUBSCRIBER_POSITIONS_SUBSCRIBER_ID]: ALL_STREAMS,
  [ADMIN_MESSAGE_INDEX_SUBSCRIBER_ID]: ALL_STREAMS,
};

export const readsOf = (subscriberId: string): string | null => CONSUMER_READS[subscriberId] ?? null;

/**
 * Subscriber ids no consumer of this system uses any more, by the consumers that carried on from them
 * (`continuesFrom`): the book's, which its system may still be recording, and this system's earlier ones.
 * The admin portal shows their positions as theirs, without a lag: they are nobody's work left undone.
 */
export const CARRIED_ON_BY: Readonly<Record<string, readonly string[]>> = {
  'components:identity:command': ['vt:identity:command'],
  'components:identity': ['vt:identity'],
  'components:identity:sendEmailEvents': ['vt:identity:sendEmailEvents'],
  'components:identity:authenticationEvents': ['vt:identity:authenticationEvents'],
  'components:send-email': ['vt:send-email'],
  'components:video-publishing:command': ['vt:video-publishing:command'],
  // The book's video-publishing command subscriber, and this system's earlier video-publishing event one.
  'components:video-publishing': ['vt:video-publishing:command', 'vt:video-publishing'],
  'video-publishing': ['vt:video-publishing:command'],
  'components:video-publishing:transcodeEvents': ['vt:video-publishing:transcodeEvents'],
  'components:video-publishing:transcribeEvents': ['vt:video-publishing:transcribeEvents'],
};

export const carriedOnBy = (subscriberId: string): readonly string[] => CARRIED_ON_BY[subscriberId] ?? [];
