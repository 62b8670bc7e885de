/**
 * A message store as the book's own JavaScript system leaves it (the code download of _Practical Microservices_,
 * public in the repository `alextanhongpin/cqrs-video-tutorial`), for the
 * takeover test and the catch-up measurement. Every message goes through Message DB's `write_message`, with the
 * statement, ids, stream names, types, data and metadata the book's code writes — its shapes are described here,
 * not its code copied:
 *
 * - its register-users application: `Register` in `identity:command-{userId}`, metadata
 *   `{ traceId, userId }`, data `{ userId, email, passwordHash }`, the hash made by `bcrypt` with 10 salt rounds
 *   (`$2b$10$…`; `bcryptjs` makes the same format).
 * - its identity component: `Registered` in `identity-{userId}` (data as the command, metadata
 *   `{ traceId, userId }` copied); on it `Send` in `sendEmail:command-{emailId}` with
 *   `emailId = uuidv5(email, '0c46e0b7-dfaf-443a-b150-053b67905cc2')`, metadata
 *   `{ originStreamName: 'identity-{userId}', traceId, userId }` and data `{ emailId, to, subject, text, html }`
 *   (no `from`: the sender is send-email's setting); on send-email's `Sent` (subscription filtered by origin
 *   `identity`) `RegistrationEmailSent { userId, emailId }` into the `originStreamName`, metadata
 *   `{ traceId, userId }`.
 * - its send-email component: `Sent` in `sendEmail-{emailId}` whose data is the `Send`'s
 *   data as it was and whose metadata is `{ originStreamName, traceId, userId }` — `originStreamName` only, never
 *   Message DB's `correlationStreamName`.
 * - its authenticate application: `UserLoggedIn` in `authentication-{userId}`, metadata
 *   `{ traceId, userId }`, data `{ userId }`; a wrong password `UserLoginFailed`, metadata
 *   `{ traceId, userId: null }`, data `{ userId, reason: 'Incorrect password' }`. An unknown address writes nothing.
 * - its record-viewings application: `VideoViewed` in `viewing-{videoId}`, metadata
 *   `{ traceId, userId }`, data `{ userId, videoId }`. Signed out, the request context's `userId` is undefined, so
 *   the key is left out of both (JSON). The home page's button records the sample video `12345`.
 * - its creators portal: `PublishVideo { ownerId, sourceUri, videoId }` and
 *   `NameVideo { name, videoId }` in `videoPublishing:command-{videoId}`, metadata `{ traceId, userId }`; the
 *   source is the URL the creator typed in.
 * - its video-publishing component: fake transcoding — `VideoPublished
 *   { ownerId, sourceUri, transcodedUri, videoId }` with the fixed external `transcodedUri`
 *   `https://www.youtube.com/watch?v=GI_P3UtZXAA`; `VideoNamed { name }`, or for a blank name `VideoNameRejected
 *   { name, reason }` (the message of validate.js, as the book's validation error carries it); all in
 *   `videoPublishing-{videoId}`, metadata `{ traceId, userId }` copied from the command.
 * - its message store's subscriptions: each subscriber records `Read { position }` (its last message's
 *   global position, metadata NULL, a random id) in `subscriberPosition-{subscriberId}` after every 100th message it
 *   handled (origin-filtered messages not counted), so a position is up to 99 messages behind. `BOOK_SUBSCRIBERS`
 *   lists the book's subscriptions, as its pieces create them. They are emulated here as if they kept
 *   up with every write: a subscriber counts a message once it is written, except where the history says the book
 *   stopped before handling it. (The book's `$all` reader skips a message now and then — it reads from
 *   `position + 1` with `global_position >` — which is not emulated; no subscriber of this system shares its id.)
 *
 * Every write is the book's statement, `SELECT message_store.write_message($1, $2, $3, $4, $5, $6)`, with data and
 * metadata as JSON (what `pg` sends for an object), and no expected version.
 */
import { randomUUID } from 'node:crypto';
import type { Queryable } from 'message-db-toolkit';
import bcrypt from 'bcryptjs';
import { v5 as uuidV5 } from 'uuid';
import { BOOK_SAMPLE_VIDEO_ID, BOOK_TRANSCODED_URI } from '../book-writes.js';

export { BOOK_SAMPLE_VIDEO_ID, BOOK_TRANSCODED_URI };

/** The book's namespace for registration e-mail ids. */
export const BOOK_EMAIL_NAMESPACE = '0c46e0b7-dfaf-443a-b150-053b67905cc2';
/** The book's registration e-mail (its pug templates rendered by email-templates). */
export const BOOK_REGISTRATION_EMAIL = {
  subject: 'Welcome to the site!',
  text: 'WELCOME TO THE SITE!',
  html: '<h1>Welcome to the site!</h1>',
};
/** What the book's video-publishing writes as the reason for a blank name. */
export const BOOK_BLANK_NAME_REASON = `Validation error**${JSON.stringify({ name: ["Name can't be blank"] })}`;
/** Every subscription records its position after this many messages. */
export const BOOK_POSITION_UPDATE_INTERVAL = 100;

interface BookSubscriber {
  subscriberId: string;
  /** A category, or `$all`. */
  reads: string;
  /** The subscription's `originStreamName` filter (a category). */
  origin?: string;
}

/** The book's subscriptions, each with the id it records its position under. */
export const BOOK_SUBSCRIBERS: readonly BookSubscriber[] = [
  { subscriberId: 'aggregators:home-page', reads: 'viewing' },
  { subscriberId: 'aggregators:user-credentials', reads: 'identity' },
  { subscriberId: 'aggregators:creators-videos', reads: 'videoPublishing' },
  { subscriberId: 'aggregators:video-operations', reads: 'videoPublishing' },
  { subscriberId: 'e482ed56-311c-486c-9bb8-8c2e2ca6f6f4', reads: 'identity' }, // admin-users
  { subscriberId: '18b4c5d6-1f30-4a67-9b61-76a42884a9bb', reads: 'authentication' }, // admin-users
  { subscriberId: '6db9a0ab-7679-4b02-b5ad-2ebc8ae06b6a', reads: '$all' }, // admin-streams
  { subscriberId: '88f8757e-2738-434c-9c8e-c1f073e9f192', reads: 'subscriberPosition' }, // admin-subscriber-positions
  { subscriberId: 'components:identity:command', reads: 'identity:command' },
  { subscriberId: 'components:identity', reads: 'identity' },
  { subscriberId: 'components:identity:sendEmailEvents', reads: 'sendEmail', origin: 'identity' },
  { subscriberId: 'components:send-email', reads: 'sendEmail:command' },
  { subscriberId: 'video-publishing', reads: 'videoPublishing:command' },
];

/** How a registration ended when the book's system stopped. */
export type RegistrationState =
  /** `Registered`, `Send`, `Sent` and `RegistrationEmailSent`. */
  | 'complete'
  /** The e-mail went out (`Sent`), identity stopped before `RegistrationEmailSent`. */
  | 'sent-not-recorded'
  /** `Send` written, send-email stopped before sending it. */
  | 'send-not-sent';

export interface BookUser {
  id: string;
  email: string;
  password: string;
  passwordHash: string;
  emailId: string;
  registration: RegistrationState;
  logIns: number;
  failedLogIns: number;
  /** Viewings recorded while signed in. */
  views: number;
}

export interface BookVideo {
  id: string;
  ownerId: string;
  sourceUri: string;
  transcodedUri: string;
  /** The name it ends with (the last `VideoNamed`), null if never named. */
  name: string | null;
  /** Names asked for, in order, valid or not. */
  namesAsked: string[];
  views: number;
}

export interface BookHistory {
  users: BookUser[];
  videos: BookVideo[];
  viewings: { total: number; anonymous: number; sampleVideo: number };
  /** Messages written, position records included. */
  messageCount: number;
  /** The last position each book subscriber recorded (only those that recorded one). */
  positions: Record<string, number>;
}

export interface BookHistoryOptions {
  /** Users who register; the last two are the registrations in flight (unless `inFlight` is false). */
  users?: number;
  viewings?: number;
  /** Videos published, by the first few users. */
  videos?: number;
  /** bcrypt's cost; the book uses 10. A lower one makes a big history quicker to write, nothing else changes. */
  bcryptRounds?: number;
  /** Leave one registration stopped between `Sent` and `RegistrationEmailSent`, one between `Send` and `Sent`. */
  inFlight?: boolean;
  /** For a reproducible history. */
  seed?: number;
  /** Called now and then with the number of messages written so far. */
  onProgress?: (written: number) => void;
}

interface Written {
  streamName: string;
  metadata: Record<string, unknown> | null;
  globalPosition: number;
}

/**
 * Writes what the book's flows write, in the order its running system would, and the position records its
 * subscribers keep. `db` must have Message DB installed.
 */
export async function writeBookHistory(db: Queryable, options: BookHistoryOptions = {}): Promise<BookHistory> {
  const userCount = options.users ?? 110;
  const viewingCount = options.viewings ?? 150;
  const videoCount = options.videos ?? 4;
  const rounds = options.bcryptRounds ?? 10;
  const inFlight = options.inFlight ?? true;
  const random = seededRandom(options.seed ?? 1);
  const writer = bookWriter(db, options.onProgress);

  const users: BookUser[] = [];
  for (let index = 0; index < userCount; index++) {
    const email = `book-user-${index + 1}@example.com`;
    const password = `book password ${index + 1}`;
    const registration: RegistrationState =
      inFlight && index === userCount - 2
        ? 'sent-not-recorded'
        : inFlight && index === userCount - 1
          ? 'send-not-sent'
          : 'complete';
    users.push({
      id: randomUUID(),
      email,
      password,
      passwordHash: await bcrypt.hash(password, rounds),
      emailId: uuidV5(email, BOOK_EMAIL_NAMESPACE),
      registration,
      logIns: 0,
      failedLogIns: 0,
      views: 0,
    });
  }
  const settled = users.filter((user) => user.registration === 'complete');
  const inFlightUsers = users.filter((user) => user.registration !== 'complete');

  // Registrations that went all the way through, one after another as the book's pieces answer them.
  for (const user of settled) await register(writer, user);

  // Then the site is used: log-ins (a few wrong passwords first), publishing and naming, viewings.
  for (const user of settled) {
    const failures = random() < 0.3 ? 1 + Math.floor(random() * 2) : 0;
    for (let attempt = 0; attempt < failures; attempt++) await failLogIn(writer, user);
    const logIns = 1 + Math.floor(random() * 3);
    for (let attempt = 0; attempt < logIns; attempt++) await logIn(writer, user);
  }

  const owners = settled.slice(0, Math.max(1, Math.min(3, settled.length)));
  const videos: BookVideo[] = [];
  for (let index = 0; index < videoCount; index++) {
    const owner = owners[index % owners.length]!;
    const video: BookVideo = {
      id: randomUUID(),
      ownerId: owner.id,
      sourceUri: `https://videos.example.com/uploads/book-video-${index + 1}.mp4`,
      transcodedUri: BOOK_TRANSCODED_URI,
      name: null,
      namesAsked: [],
      views: 0,
    };
    videos.push(video);
    await publish(writer, owner, video);
    // The first is named at once; the second after a blank name was rejected; the third is renamed;
    // the fourth and later alternate between named and never named.
    const names =
      index === 0
        ? [`Book tutorial ${index + 1}`]
        : index === 1
          ? ['', `Book tutorial ${index + 1}`]
          : index === 2
            ? [`Book tutorial ${index + 1} (draft)`, `Book tutorial ${index + 1}`]
            : index % 2 === 0
              ? [`Book tutorial ${index + 1}`]
              : [];
    for (const name of names) await nameVideo(writer, owner, video, name);
  }

  const viewings = { total: viewingCount, anonymous: 0, sampleVideo: 0 };
  for (let index = 0; index < viewingCount; index++) {
    const signedIn = random() < 0.6 ? settled[Math.floor(random() * settled.length)] : undefined;
    const video = videos.length > 0 && random() < 0.5 ? videos[Math.floor(random() * videos.length)] : undefined;
    if (video) video.views++;
    else viewings.sampleVideo++;
    if (signedIn) signedIn.views++;
    else viewings.anonymous++;
    await view(writer, video?.id ?? BOOK_SAMPLE_VIDEO_ID, signedIn?.id);
  }

  // Last, the registrations the book's system was in the middle of when it stopped.
  for (const user of inFlightUsers) await register(writer, user);

  return {
    users,
    videos,
    viewings,
    messageCount: writer.count(),
    positions: writer.positions(),
  };
}

type Writer = ReturnType<typeof bookWriter>;

/** Writes messages the book's way and keeps the book's subscribers' position records. */
function bookWriter(db: Queryable, onProgress?: (written: number) => void) {
  const handled = new Map<string, number>(BOOK_SUBSCRIBERS.map((subscriber) => [subscriber.subscriberId, 0]));
  const recorded: Record<string, number> = {};
  let count = 0;

  async function writeMessage(
    streamName: string,
    type: string,
    data: Record<string, unknown>,
    metadata: Record<string, unknown> | null,
  ): Promise<Written> {
    const id = randomUUID();
    await db.query('SELECT message_store.write_message($1, $2, $3, $4, $5, $6)', [
      id,
      streamName,
      type,
      JSON.stringify(data),
      metadata === null ? null : JSON.stringify(metadata),
      null,
    ]);
    const [row] = await db.query<{ global_position: string | number }>(
      'SELECT global_position FROM message_store.messages WHERE id = $1',
      [id],
    );
    count++;
    if (onProgress && count % 1000 === 0) onProgress(count);
    return { streamName, metadata, globalPosition: Number(row!.global_position) };
  }

  /** Each book subscriber that reads `message` counts it; every 100th it records its position. */
  async function observe(message: Written, unhandledBy: readonly string[]) {
    const category = categoryOf(message.streamName);
    for (const subscriber of BOOK_SUBSCRIBERS) {
      if (subscriber.reads !== '$all' && subscriber.reads !== category) continue;
      if (unhandledBy.includes(subscriber.subscriberId)) continue;
      if (subscriber.origin) {
        const origin = message.metadata?.originStreamName;
        if (typeof origin !== 'string' || categoryOf(origin) !== subscriber.origin) continue;
      }
      const seen = handled.get(subscriber.subscriberId)! + 1;
      handled.set(subscriber.subscriberId, seen);
      if (seen % BOOK_POSITION_UPDATE_INTERVAL === 0) {
        const record = await writeMessage(
          `subscriberPosition-${subscriber.subscriberId}`,
          'Read',
          { position: message.globalPosition },
          null,
        );
        recorded[subscriber.subscriberId] = message.globalPosition;
        await observe(record, []);
      }
    }
  }

  return {
    /** Writes one message; `unhandledBy` names subscribers the book stopped before they handled it. */
    async write(
      streamName: string,
      type: string,
      data: Record<string, unknown>,
      metadata: Record<string, unknown>,
      unhandledBy: readonly string[] = [],
    ) {
      // What JSON.stringify does to an object with an undefined value: the key is left out.
      const written = await writeMessage(
        streamName,
        type,
        data,
        JSON.parse(JSON.stringify(metadata)) as typeof metadata,
      );
      await observe(written, unhandledBy);
    },
    count: () => count,
    positions: () => ({ ...recorded }),
  };
}

async function register(writer: Writer, user: BookUser) {
  const traceId = randomUUID();
  const userId = user.id;
  const credentials = { userId, email: user.email, passwordHash: user.passwordHash };
  await writer.write(`identity:command-${userId}`, 'Register', credentials, { traceId, userId });
  await writer.write(`identity-${userId}`, 'Registered', credentials, { traceId, userId });
  const email = { emailId: user.emailId, to: user.email, ...BOOK_REGISTRATION_EMAIL };
  const origin = { originStreamName: `identity-${userId}`, traceId, userId };
  const sending = user.registration === 'send-not-sent';
  await writer.write(
    `sendEmail:command-${user.emailId}`,
    'Send',
    email,
    origin,
    sending ? ['components:send-email'] : [],
  );
  if (sending) return;
  const recording = user.registration === 'sent-not-recorded';
  await writer.write(
    `sendEmail-${user.emailId}`,
    'Sent',
    email,
    origin,
    recording ? ['components:identity:sendEmailEvents'] : [],
  );
  if (recording) return;
  await writer.write(
    `identity-${userId}`,
    'RegistrationEmailSent',
    { userId, emailId: user.emailId },
    { traceId, userId },
  );
}

async function logIn(writer: Writer, user: BookUser) {
  user.logIns++;
  await writer.write(
    `authentication-${user.id}`,
    'UserLoggedIn',
    { userId: user.id },
    { traceId: randomUUID(), userId: user.id },
  );
}

async function failLogIn(writer: Writer, user: BookUser) {
  user.failedLogIns++;
  await writer.write(
    `authentication-${user.id}`,
    'UserLoginFailed',
    { userId: user.id, reason: 'Incorrect password' },
    { traceId: randomUUID(), userId: null },
  );
}

async function view(writer: Writer, videoId: string, userId: string | undefined) {
  await writer.write(`viewing-${videoId}`, 'VideoViewed', { userId, videoId }, { traceId: randomUUID(), userId });
}

async function publish(writer: Writer, owner: BookUser, video: BookVideo) {
  const metadata = { traceId: randomUUID(), userId: owner.id };
  const { id: videoId, sourceUri } = video;
  await writer.write(
    `videoPublishing:command-${videoId}`,
    'PublishVideo',
    { ownerId: owner.id, sourceUri, videoId },
    metadata,
  );
  await writer.write(
    `videoPublishing-${videoId}`,
    'VideoPublished',
    { ownerId: owner.id, sourceUri, transcodedUri: video.transcodedUri, videoId },
    metadata,
  );
}

async function nameVideo(writer: Writer, owner: BookUser, video: BookVideo, name: string) {
  const metadata = { traceId: randomUUID(), userId: owner.id };
  video.namesAsked.push(name);
  await writer.write(`videoPublishing:command-${video.id}`, 'NameVideo', { name, videoId: video.id }, metadata);
  if (name.trim() === '') {
    await writer.write(
      `videoPublishing-${video.id}`,
      'VideoNameRejected',
      { name, reason: BOOK_BLANK_NAME_REASON },
      metadata,
    );
  } else {
    video.name = name;
    await writer.write(`videoPublishing-${video.id}`, 'VideoNamed', { name }, metadata);
  }
}

/** Message DB's category: the stream name up to its first dash. */
function categoryOf(streamName: string) {
  const dash = streamName.indexOf('-');
  return dash === -1 ? streamName : streamName.slice(0, dash);
}

/** A small deterministic generator (mulberry32), so a seed gives the same history shape. */
function seededRandom(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
