/**
 * Components taking the book's place carry on from the positions the book's system recorded, under subscriber
 * ids of their own: work the book did is not done again, and the book's position streams are never written to.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createMessageStore, positionStreamName, type MessageStore, type StoredMessage } from 'message-db-toolkit';
import { createTestDatabase, type TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityCommandStreamName, identityStreamName } from '../contracts/identity.js';
import { sendEmailStreamName } from '../contracts/send-email.js';
import type { Piece } from '../piece.js';
import { exampleRegister, exampleUser, written } from './identity/controls.js';
import * as identity from './identity/index.js';
import { exampleEmail, requestEmail, systemSenderEmailAddress } from './send-email/controls.js';
import * as sendEmail from './send-email/index.js';
import { createEmailTransport } from './send-email/transport.js';

let test: TestDatabase;
let store: MessageStore;
let emailDirectory: string;

beforeAll(async () => {
  test = await createTestDatabase();
  store = createMessageStore({ db: test.db });
  emailDirectory = await mkdtemp(path.join(tmpdir(), 'vt-book-positions-'));
});
afterAll(async () => {
  await test.drop();
  await rm(emailDirectory, { recursive: true, force: true });
});

/** A position record exactly as the book's subscriptions write one: `Read { position }`, a random id, no metadata. */
const writeAsTheBook = (subscriberId: string, position: number) =>
  test.db.query('SELECT message_store.write_message($1, $2, $3, $4, $5, $6)', [
    randomUUID(),
    `subscriberPosition-${subscriberId}`,
    'Read',
    JSON.stringify({ position }),
    null,
    null,
  ]);

const recordsOf = async (subscriberId: string) =>
  (await store.read(positionStreamName(subscriberId))).map((record) => record.data.position);

/** Starts the piece, lets it catch up and stops it (recording its positions). */
async function runOnce(piece: Piece) {
  await piece.start();
  for (const subscription of piece.subscriptions) await subscription.waitUntilCaughtUp();
  await piece.stop();
}

describe('identity, after the book’s identity', () => {
  it('registers only what the book had not, never writes the book’s positions, and later resumes from its own', async () => {
    const handledByTheBook = exampleUser();
    const bookRegister = await written(
      store,
      identityCommandStreamName(handledByTheBook.userId),
      exampleRegister(handledByTheBook),
    );
    await writeAsTheBook('components:identity:command', bookRegister.globalPosition);
    const left = exampleUser();
    await written(store, identityCommandStreamName(left.userId), exampleRegister(left));

    await runOnce(identity.build({ messageStore: store }));
    // The book's Register was the book's to handle (it stopped before writing Registered, as if it crashed there).
    expect(await store.read(identityStreamName(handledByTheBook.userId))).toEqual([]);
    expect((await store.read(identityStreamName(left.userId)))[0]?.type).toBe('Registered');
    expect(await recordsOf('components:identity:command')).toEqual([bookRegister.globalPosition]);
    const own = await recordsOf('vt:identity:command');
    expect(own.at(-1)).toBeGreaterThan(bookRegister.globalPosition);

    // The book, still running beside it, records a position past a newer Register: ours handles it all the same.
    const later = exampleUser();
    const laterRegister = await written(store, identityCommandStreamName(later.userId), exampleRegister(later));
    await writeAsTheBook('components:identity:command', laterRegister.globalPosition);
    await runOnce(identity.build({ messageStore: store }));
    expect((await store.read(identityStreamName(later.userId)))[0]?.type).toBe('Registered');
    expect(await recordsOf('components:identity:command')).toEqual([
      bookRegister.globalPosition,
      laterRegister.globalPosition,
    ]);
  });
});

describe('send-email, after the book’s send-email', () => {
  it('sends only the e-mails the book had not sent, and keeps its position to itself', async () => {
    const sentByTheBook = exampleEmail();
    const bookSend: StoredMessage = await requestEmail(store, sentByTheBook);
    await writeAsTheBook('components:send-email', bookSend.globalPosition);
    const left = exampleEmail();
    await requestEmail(store, left);

    const build = () =>
      sendEmail.build({
        messageStore: store,
        transport: createEmailTransport({ emailDirectory }),
        systemSenderEmailAddress,
      });
    await runOnce(build());
    expect(await store.read(sendEmailStreamName(sentByTheBook.emailId))).toEqual([]);
    expect((await store.read(sendEmailStreamName(left.emailId))).map((event) => event.type)).toEqual(['Sent']);
    expect(await readdir(emailDirectory)).toHaveLength(1);
    expect(await recordsOf('components:send-email')).toEqual([bookSend.globalPosition]);

    const later = exampleEmail();
    const laterSend = await requestEmail(store, later);
    await writeAsTheBook('components:send-email', laterSend.globalPosition);
    await runOnce(build());
    expect((await store.read(sendEmailStreamName(later.emailId))).map((event) => event.type)).toEqual(['Sent']);
    expect(await readdir(emailDirectory)).toHaveLength(2);
    expect(await recordsOf('components:send-email')).toEqual([bookSend.globalPosition, laterSend.globalPosition]);
  });
});
