/**
 * The send-email component (contract.md): delivers the e-mail a `Send`
 * command asks for, once, and records `Sent` or `Failed` in the e-mail's
 * own stream.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { v5 as uuidV5 } from 'uuid';
import {
  commandCategory,
  createSubscription,
  follow,
  VersionConflictError,
  type ConsumerGroup,
  type Logger,
  type MessageStore,
  type StoredMessage,
} from 'message-db-toolkit';
import { Failed, Send, Sent, sendEmailCategory, sendEmailStreamName } from '../../contracts/send-email.js';
import { pieceOf, type PieceDescriptor } from '../../piece.js';
import { emailProjection, isSettled } from './email.js';
import type { EmailTransport } from './transport.js';

export interface SendEmailOptions {
  messageStore: MessageStore;
  transport: EmailTransport;
  /** The `From` of every e-mail (`SYSTEM_SENDER_EMAIL_ADDRESS`). */
  systemSenderEmailAddress: string;
  /** Delivery attempts before the e-mail is recorded as `Failed`; default 3. */
  maxAttempts?: number;
  /** The wait before the second attempt, doubled before each further one; default 1 s. */
  retryDelayMs?: number;
  /** To run several instances: each handles its share of the e-mails. */
  consumerGroup?: ConsumerGroup;
  logger?: Logger;
}

type Delivery = { delivered: true } | { delivered: false; reason: string };

const silentLogger: Logger = { info() {}, warn() {}, error() {} };

/** Its subscriber id is our own; it carries on from the book's (see the README's table of subscriber ids). */
export const descriptor = {
  name: 'send-email',
  subscriptions: {
    commands: {
      streamName: commandCategory(sendEmailCategory),
      subscriberId: 'vt:send-email',
      continuesFrom: 'components:send-email',
    },
  },
} as const satisfies PieceDescriptor;

const OUTCOME_NAMESPACE = '9c3b6f0e-2d4a-4e8b-b1f7-5a0d8c6e4f21';

export function build({
  messageStore,
  transport,
  systemSenderEmailAddress,
  maxAttempts = 3,
  retryDelayMs = 1_000,
  consumerGroup,
  logger = silentLogger,
}: SendEmailOptions) {
  if (!systemSenderEmailAddress.trim()) throw new Error('send-email needs a system sender e-mail address');
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) throw new Error('send-email needs maxAttempts of 1 or more');

  const handlers = {
    async Send(message: StoredMessage): Promise<void> {
      const command = Send.parse(message);
      const { entity: email, version } = await loadEmail(command.data.emailId);
      if (isSettled(email)) {
        logger.info({ emailId: command.data.emailId, status: email.status }, 'e-mail already settled; nothing to do');
        return;
      }
      const delivery = await deliverWithRetries(command);
      await writeOutcome(command, delivery, version);
    },
  };

  function loadEmail(emailId: string) {
    return messageStore.fetch(sendEmailStreamName(emailId), emailProjection);
  }

  async function deliverWithRetries(command: Send): Promise<Delivery> {
    const { emailId, to, subject, text, html } = command.data;
    for (let attempt = 1; ; attempt++) {
      try {
        await transport.send({ messageId: emailId, from: systemSenderEmailAddress, to, subject, text, html });
        return { delivered: true };
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        logger.warn({ emailId, attempt, maxAttempts, reason }, 'e-mail not delivered');
        if (attempt >= maxAttempts) return { delivered: false, reason: `${reason} (after ${attempt} attempts)` };
        await sleep(retryDelayMs * 2 ** (attempt - 1));
      }
    }
  }

  /**
   * Written with the version the decision was made on, so of two instances
   * handling the same e-mail only the first records an outcome. The event's
   * id comes from the command: the same write repeated is recognized, not
   * rejected.
   */
  async function writeOutcome(command: Send, delivery: Delivery, expectedVersion: number) {
    const email = { ...command.data, from: systemSenderEmailAddress };
    const event = delivery.delivered
      ? Sent.create(email, { id: outcomeId(command, Sent.type) })
      : Failed.create({ ...email, reason: delivery.reason }, { id: outcomeId(command, Failed.type) });
    try {
      await messageStore.write(sendEmailStreamName(command.data.emailId), follow(command, event), expectedVersion);
    } catch (error) {
      if (!(error instanceof VersionConflictError)) throw error;
      logger.info(
        { emailId: command.data.emailId, outcome: event.type },
        'another instance recorded this e-mail first',
      );
    }
  }

  const subscription = createSubscription({
    store: messageStore,
    ...descriptor.subscriptions.commands,
    handlers,
    ...(consumerGroup ? { consumerGroup } : {}),
    logger,
  });

  return { ...pieceOf(descriptor.name, [subscription]), handlers };
}

const outcomeId = (command: Send, type: string) => uuidV5(`${command.id}|${type}`, OUTCOME_NAMESPACE);
