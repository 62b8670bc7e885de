import { follow } from 'message-db-toolkit';
import { v5 as uuidV5 } from 'uuid';
import {
  identityStreamName,
  PasswordChanged,
  PasswordResetRejected,
  PasswordResetRequested,
  type ChangePassword,
  type RequestPasswordReset,
  type ResetPassword,
} from '../../contracts/identity.js';
import { Send, sendEmailCommandStreamName } from '../../contracts/send-email.js';
import { tokenHashOf } from './confirmation.js';
import { nothing, write, type Decision, type Write } from './decisions.js';
import { alreadyAnswered, type Identity } from './identity.js';
import type { EmailTemplates } from './templates.js';

/** How password reset links are made: the site's address (`APP_URL`) and how long a link works. */
export interface PasswordResetPolicy {
  appUrl: string;
  linkTtlMs: number;
}

/** A reset link is a key to the account: it works for an hour. */
export const PASSWORD_RESET_LINK_TTL_MS = 3_600_000;

// Message ids derived from their cause: deciding twice writes one request, asks for one e-mail, one change.
const RESET_REQUEST_NAMESPACE = '4c1f8e2a-7d3b-4e59-a0c6-2b8d9f1e3a57';
const RESET_EMAIL_NAMESPACE = 'e7a3b1c9-5d2f-4a86-b4e0-9c1d7f3a2b68';
const PASSWORD_CHANGE_NAMESPACE = '1b9d4f7e-2c6a-4d38-8e5b-6f0a3c9d1e24';

/** `RequestPasswordReset` → `PasswordResetRequested` with the hash of `token`, valid `linkTtlMs` from the command. */
export function decidePasswordResetRequest(
  identity: Identity,
  command: RequestPasswordReset,
  token: string,
  policy: PasswordResetPolicy,
): Decision {
  if (alreadyAnswered(identity, command)) return nothing('command already handled');
  if (!identity.registered || identity.email === null) return nothing('identity is not registered');
  const { userId } = command.data;
  const emailId = uuidV5(command.id, RESET_EMAIL_NAMESPACE);
  const expiresAt = new Date(command.time.getTime() + policy.linkTtlMs).toISOString();
  return write(
    identityStreamName(userId),
    follow(
      command,
      PasswordResetRequested.create(
        { userId, emailId, tokenHash: tokenHashOf(token), expiresAt },
        { id: uuidV5(command.id, RESET_REQUEST_NAMESPACE) },
      ),
    ),
  );
}

/** The `Send` of the e-mail with the reset link, once its request (with the token's hash) is written. */
export function passwordResetEmail(
  command: RequestPasswordReset,
  request: PasswordResetRequested,
  email: string,
  token: string,
  templates: EmailTemplates,
  policy: PasswordResetPolicy,
): Write {
  const { userId, emailId, expiresAt } = request.data;
  const resetUrl = `${policy.appUrl.replace(/\/$/, '')}/auth/reset-password?userId=${userId}&token=${token}`;
  const originStreamName = identityStreamName(userId);
  const send = Send.create(
    { emailId, to: email, ...templates.passwordReset({ email, resetUrl, expiresAt }) },
    {
      id: uuidV5(request.id, RESET_EMAIL_NAMESPACE),
      metadata: { originStreamName, correlationStreamName: originStreamName },
    },
  );
  return write(sendEmailCommandStreamName(emailId), follow(command, send));
}

/**
 * `ResetPassword` → `PasswordChanged { reason: 'reset' }` for the token of the latest link sent, not expired at
 * the command's time; otherwise `PasswordResetRejected` (`link not valid`, `link expired`, `link already used`).
 */
export function decidePasswordReset(identity: Identity, command: ResetPassword): Decision {
  if (alreadyAnswered(identity, command)) return nothing('command already handled');
  if (!identity.registered) return nothing('identity is not registered');
  const { userId, token, passwordHash } = command.data;
  const tokenHash = tokenHashOf(token);
  const link = identity.passwordReset?.tokenHash === tokenHash ? identity.passwordReset : null;
  const reason = link
    ? link.expiresAt <= command.time.getTime()
      ? 'link expired'
      : null
    : identity.spentResetTokenHash === tokenHash
      ? 'link already used'
      : 'link not valid';
  const event = reason
    ? PasswordResetRejected.create({ userId, reason })
    : PasswordChanged.create(
        { userId, passwordHash, reason: 'reset' },
        { id: uuidV5(command.id, PASSWORD_CHANGE_NAMESPACE) },
      );
  return write(identityStreamName(userId), follow(command, event));
}

/** `ChangePassword` (the application verified the current password) → `PasswordChanged { reason: 'change' }`. */
export function decidePasswordChange(identity: Identity, command: ChangePassword): Decision {
  if (alreadyAnswered(identity, command)) return nothing('command already handled');
  if (!identity.registered) return nothing('identity is not registered');
  const { userId, passwordHash } = command.data;
  return write(
    identityStreamName(userId),
    follow(
      command,
      PasswordChanged.create(
        { userId, passwordHash, reason: 'change' },
        { id: uuidV5(command.id, PASSWORD_CHANGE_NAMESPACE) },
      ),
    ),
  );
}
