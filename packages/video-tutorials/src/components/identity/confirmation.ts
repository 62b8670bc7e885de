import { createHash, randomBytes } from 'node:crypto';
import { follow, type StoredMessage } from 'message-db-toolkit';
import { v5 as uuidV5 } from 'uuid';
import {
  type AccountLocked,
  EmailConfirmationRejected,
  EmailConfirmationRequested,
  EmailConfirmed,
  identityStreamName,
  Registered,
  type ConfirmEmail,
  type RequestEmailConfirmation,
} from '../../contracts/identity.js';
import { Send, sendEmailCommandStreamName } from '../../contracts/send-email.js';
import { nothing, write, type Decision, type Write } from './decisions.js';
import { alreadyAnswered, type Identity } from './identity.js';
import { registrationEmailId, sendCommandIdFor } from './ids.js';
import type { EmailTemplates } from './templates.js';

/** How confirmation links are made. */
export interface ConfirmationPolicy {
  /** The site's address, for the links in e-mails (`APP_URL`). */
  appUrl: string;
  /** How long a link works. */
  linkTtlMs: number;
}

export const defaultConfirmationPolicy: ConfirmationPolicy = {
  appUrl: 'http://localhost:3000',
  linkTtlMs: 48 * 3_600_000,
};

/** A new one-time token: 256 random bits. Only its hash is kept in the identity stream. */
export const newToken = () => randomBytes(32).toString('base64url');
export const tokenHashOf = (token: string) => createHash('sha256').update(token).digest('hex');

// Message ids derived from their cause: deciding twice writes one request, and asks for one e-mail.
const CONFIRMATION_REQUEST_NAMESPACE = '9b8e5c61-0f7a-4a2d-8d3c-5e1f7a9b2c40';
const CONFIRMATION_EMAIL_NAMESPACE = 'd2c4a6e8-3b5f-4c71-9e0a-8f6b4d2c1a93';

/**
 * `Registered` (the registration e-mail) or `RequestEmailConfirmation` (asked for again) →
 * `EmailConfirmationRequested` with the hash of `token`, valid for `linkTtlMs` from its cause's time.
 */
export function decideConfirmationRequest(
  identity: Identity,
  cause: Registered | RequestEmailConfirmation,
  token: string,
  policy: ConfirmationPolicy,
  /** For `Registered`: its e-mail was asked for already, without a request of ours (by the book's system). */
  registrationEmailAskedFor = false,
): Decision {
  const { userId } = cause.data;
  let emailId: string;
  if (identity.deleted) return nothing('account deleted');
  if (cause.type === 'Registered') {
    if (identity.registrationEmailSent) return nothing('registration e-mail already sent');
    if (identity.confirmationRequested || registrationEmailAskedFor)
      return nothing('registration e-mail already asked for');
    emailId = registrationEmailId(cause.data.email);
  } else {
    if (alreadyAnswered(identity, cause)) return nothing('command already handled');
    if (!identity.registered || identity.email === null) return nothing('identity is not registered');
    if (identity.emailConfirmed) return nothing('address already confirmed');
    emailId = uuidV5(cause.id, CONFIRMATION_EMAIL_NAMESPACE);
  }
  const email = cause.type === 'Registered' ? cause.data.email : identity.email!;
  const expiresAt = new Date(cause.time.getTime() + policy.linkTtlMs).toISOString();
  return write(
    identityStreamName(userId),
    follow(
      cause,
      EmailConfirmationRequested.create(
        { userId, email, emailId, tokenHash: tokenHashOf(token), expiresAt },
        { id: uuidV5(cause.id, CONFIRMATION_REQUEST_NAMESPACE) },
      ),
    ),
  );
}

/**
 * The `Send` of the e-mail with the link, once its request is written: the registration e-mail (its `emailId`
 * and `Send` id as before, from the address and the `Registered` event) or a confirmation e-mail of its own.
 */
export function confirmationEmail(
  cause: Registered | RequestEmailConfirmation,
  request: EmailConfirmationRequested,
  token: string,
  templates: EmailTemplates,
  policy: ConfirmationPolicy,
): Write {
  const { userId, email, emailId } = request.data;
  const siteUrl = `${policy.appUrl.replace(/\/$/, '')}/`;
  const confirmationUrl = `${siteUrl}auth/confirm-email?userId=${userId}&token=${token}`;
  const rendered =
    cause.type === 'Registered'
      ? templates.registration({ email, displayName: cause.data.displayName, siteUrl, confirmationUrl })
      : templates.emailConfirmation({ email, confirmationUrl });
  const originStreamName = identityStreamName(userId);
  const send = Send.create(
    { emailId, to: email, ...rendered },
    {
      id: cause.type === 'Registered' ? sendCommandIdFor(cause) : uuidV5(request.id, CONFIRMATION_EMAIL_NAMESPACE),
      metadata: { originStreamName, correlationStreamName: originStreamName },
    },
  );
  return write(sendEmailCommandStreamName(emailId), follow(cause, send));
}

/** `ConfirmEmail` → `EmailConfirmed` for a token of a link sent and not expired at the command's time. */
export function decideConfirmation(identity: Identity, command: ConfirmEmail): Decision {
  if (alreadyAnswered(identity, command)) return nothing('command already handled');
  if (!identity.registered || identity.email === null) return nothing('identity is not registered');
  if (identity.emailConfirmed) return nothing('address already confirmed');
  const { userId, token } = command.data;
  const tokenHash = tokenHashOf(token);
  const link = identity.confirmationTokens.find((sent) => sent.tokenHash === tokenHash);
  const reason = !link ? 'link not valid' : link.expiresAt <= command.time.getTime() ? 'link expired' : null;
  const event = reason
    ? EmailConfirmationRejected.create({ userId, reason })
    : EmailConfirmed.create({ userId, email: identity.email });
  return write(identityStreamName(userId), follow(command, event));
}

const UNLOCK_EMAIL_NAMESPACE = 'f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b';

/** The `Send` of the unlock link to the owner, once the lock (with the token's hash) is written. */
export function unlockEmail(
  cause: StoredMessage,
  lock: AccountLocked,
  email: string,
  token: string,
  templates: EmailTemplates,
  policy: ConfirmationPolicy,
): Write {
  const { userId, lockedUntil } = lock.data;
  const emailId = uuidV5(lock.id, UNLOCK_EMAIL_NAMESPACE);
  const unlockUrl = `${policy.appUrl.replace(/\/$/, '')}/auth/unlock?userId=${userId}&token=${token}`;
  const originStreamName = identityStreamName(userId);
  const send = Send.create(
    { emailId, to: email, ...templates.accountLocked({ email, unlockUrl, lockedUntil: lockedUntil ?? '' }) },
    {
      id: uuidV5(emailId, UNLOCK_EMAIL_NAMESPACE),
      metadata: { originStreamName, correlationStreamName: originStreamName },
    },
  );
  return write(sendEmailCommandStreamName(emailId), follow(cause, send));
}
