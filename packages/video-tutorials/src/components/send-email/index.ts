/**
 * The send-email component (contract.md): delivers the e-mail a `Send`
 * command asks for, once, and records `Sent` or `Failed` in the e-mail's
 * own stream.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  commandCategory,
  createSubscription,
  doOnce,
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
    /**
     * Delivered once: an e-mail already settled is not sent again. The outcome is written with the version the
     * decision was made on, so of two instances handling the same e-mail only the first records one; its id
     * comes from the command, so the same write repeated is recognized, not rejected.
     */
    async Send(message: StoredMessage): Promise<void> {
      const command = Send.parse(message);
      const { emailId } = command.data;
      const email = { ...command.data, from: systemSenderEmailAddress };
      await doOnce(messageStore, {
        cause: command,
        streamName: sendEmailStreamName(emailId),
        projection: emailProjection,
        isSettled,
        work: () => deliverWithRetries(command),
        outcome: (delivery: Delivery) =>
          delivery.delivered ? Sent.create(email) : Failed.create({ ...email, reason: delivery.reason }),
        namespace: OUTCOME_NAMESPACE,
        logger,
        what: 'e-mail',
        details: { emailId },
      });
    },
  };

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

  const subscription = createSubscription({
    store: messageStore,
    ...descriptor.subscriptions.commands,
    handlers,
    ...(consumerGroup ? { consumerGroup } : {}),
    logger,
  });

  return { ...pieceOf(descriptor.name, [subscription]), handlers };
}
