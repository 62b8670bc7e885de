import { ALL_STREAMS, commandCategory } from '@vt/message-store';
import { ADMIN_MESSAGE_INDEX_SUBSCRIBER_ID } from '../../aggregators/admin-message-index/index.js';
import { ADMIN_STREAMS_SUBSCRIBER_ID } from '../../aggregators/admin-streams/index.js';
import { ADMIN_SUBSCRIBER_POSITIONS_SUBSCRIBER_ID } from '../../aggregators/admin-subscriber-positions/index.js';
import { ADMIN_USERS_SUBSCRIBER_ID } from '../../aggregators/admin-users/index.js';
import { authenticationCategory } from '../../contracts/authentication.js';
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
  'components:identity:command': commandCategory(identityCategory),
  'components:identity': identityCategory,
  'components:identity:sendEmailEvents': sendEmailCategory,
  'components:identity:authenticationEvents': authenticationCategory,
  'components:send-email': commandCategory(sendEmailCategory),
  'components:transcode': commandCategory(transcodeCategory),
  'components:transcribe': commandCategory(transcribeCategory),
  'components:video-publishing:command': commandCategory(videoPublishingCategory),
  'components:video-publishing': videoPublishingCategory,
  'components:video-publishing:transcodeEvents': transcodeCategory,
  'components:video-publishing:transcribeEvents': transcribeCategory,
  'aggregators:home-page': viewingCategory,
  'aggregators:video-views': viewingCategory,
  'aggregators:user-credentials': identityCategory,
  'aggregators:registration-monitor': identityCategory,
  'aggregators:catalogue': videoPublishingCategory,
  'aggregators:creators-videos': videoPublishingCategory,
  'aggregators:video-operations': videoPublishingCategory,
  [ADMIN_USERS_SUBSCRIBER_ID]: ALL_STREAMS,
  [ADMIN_STREAMS_SUBSCRIBER_ID]: ALL_STREAMS,
  [ADMIN_SUBSCRIBER_POSITIONS_SUBSCRIBER_ID]: ALL_STREAMS,
  [ADMIN_MESSAGE_INDEX_SUBSCRIBER_ID]: ALL_STREAMS,
};

export const readsOf = (subscriberId: string): string | null => CONSUMER_READS[subscriberId] ?? null;
