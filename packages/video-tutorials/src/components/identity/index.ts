import {
  commandCategory,
  createSubscription,
  type ConsumerGroup,
  type Logger,
  type MessageStore,
  type SubscriptionOptions,
} from 'message-db-toolkit';
import { authenticationCategory } from '../../contracts/authentication.js';
import { identityCategory } from '../../contracts/identity.js';
import { sendEmailCategory } from '../../contracts/send-email.js';
import { pieceOf, type PieceDescriptor } from '../../piece.js';
import { createHandlers } from './handlers.js';
import { defaultConfirmationPolicy, type ConfirmationPolicy } from './confirmation.js';
import { lockPolicyFrom, type LockPolicy } from './locking.js';
import { PASSWORD_RESET_LINK_TTL_MS } from './password-reset.js';
import { createEmailTemplates, type EmailTemplates } from './templates.js';

export { createEmailTemplates, type EmailTemplates } from './templates.js';
export { defaultLockPolicy, type LockPolicy } from './locking.js';
export { registrationEmailId, REGISTRATION_EMAIL_NAMESPACE } from './ids.js';
export type { Outcome } from './handlers.js';

export interface IdentityOptions {
  messageStore: MessageStore;
  /** The application's name in the default e-mail templates (`APP_NAME`); unused when `emailTemplates` is given. */
  appName?: string;
  emailTemplates?: EmailTemplates;
  /** Defaults: 5 failed log-ins within 15 minutes lock the account. */
  lockPolicy?: Partial<LockPolicy>;
  /** The site's address for links in e-mails (`APP_URL`), and how long a confirmation link works (48 hours). */
  confirmationPolicy?: Partial<ConfirmationPolicy>;
  /** How long a password reset link works (an hour); its address is `confirmationPolicy.appUrl`. */
  passwordResetLinkTtlMs?: number;
  logger?: Logger;
  /** To run several instances: each handles its share of users (and of e-mails' outcomes). */
  consumerGroup?: ConsumerGroup;
}

const silent: Logger = { info() {}, warn() {}, error() {} };

/**
 * Subscriber ids of our own (the book's system may still run and record its positions); each carries on from
 * the id it had before, the book's where the book has one (see the README's table of subscriber ids).
 */
export const descriptor = {
  name: 'identity',
  subscriptions: {
    commands: {
      streamName: commandCategory(identityCategory),
      subscriberId: 'vt:identity:command',
      continuesFrom: 'components:identity:command',
    },
    events: { streamName: identityCategory, subscriberId: 'vt:identity', continuesFrom: 'components:identity' },
    sendEmailEvents: {
      streamName: sendEmailCategory,
      originStreamName: identityCategory,
      subscriberId: 'vt:identity:sendEmailEvents',
      continuesFrom: 'components:identity:sendEmailEvents',
    },
    authenticationEvents: {
      streamName: authenticationCategory,
      subscriberId: 'vt:identity:authenticationEvents',
      continuesFrom: 'components:identity:authenticationEvents',
    },
  },
} as const satisfies PieceDescriptor;

/**
 * The identity component (the book's chapters 8–9 and its account-locking exercise): registers users, has
 * their registration e-mail sent, and locks accounts after repeated failed log-ins. See contract.md.
 */
export function build({
  messageStore,
  appName,
  emailTemplates = createEmailTemplates(appName ? { appName } : {}),
  lockPolicy,
  confirmationPolicy,
  passwordResetLinkTtlMs = PASSWORD_RESET_LINK_TTL_MS,
  logger = silent,
  consumerGroup,
}: IdentityOptions) {
  const links = { ...defaultConfirmationPolicy, ...confirmationPolicy };
  const handlers = createHandlers({
    messageStore,
    emailTemplates,
    lockPolicy: lockPolicyFrom(lockPolicy),
    confirmationPolicy: links,
    passwordResetPolicy: { appUrl: links.appUrl, linkTtlMs: passwordResetLinkTtlMs },
    logger,
  });
  const subscribe = (options: Omit<SubscriptionOptions, 'store' | 'logger'>) =>
    createSubscription({ store: messageStore, logger, ...options, ...(consumerGroup ? { consumerGroup } : {}) });

  const { commands, events, sendEmailEvents, authenticationEvents } = descriptor.subscriptions;
  const subscriptions = [
    subscribe({ ...commands, handlers: handlers.commands }),
    subscribe({ ...events, handlers: handlers.events }),
    // The book's send-email copies only originStreamName: its Sent events have no correlation.
    subscribe({ ...sendEmailEvents, originWithoutCorrelation: true, handlers: handlers.sendEmailEvents }),
    subscribe({ ...authenticationEvents, handlers: handlers.authenticationEvents }),
  ];

  return { ...pieceOf(descriptor.name, subscriptions), handlers };
}
