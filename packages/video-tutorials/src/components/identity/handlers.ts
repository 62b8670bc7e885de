import { z } from 'zod';
import {
  createDecider,
  ensureWrittenTo,
  InvalidMessageError,
  originIdIn,
  VersionConflictError,
  type Logger,
  type MessageStore,
  type Outcome,
  type StoredMessage,
} from 'message-db-toolkit';
import { authenticationStreamName, UserLoginFailed } from '../../contracts/authentication.js';
import {
  identityCategory,
  EmailReserved,
  identityCommandStreamName,
  identityEmailStreamName,
  identityStreamName,
  AccountLocked,
  ConfirmEmail,
  EmailConfirmationRequested,
  Register,
  Registered,
  RequestEmailConfirmation,
  UnlockAccount,
  ChangePassword,
  PasswordResetRequested,
  RequestPasswordReset,
  ResetPassword,
  AccountDeleted,
  DeleteAccount,
  LogOutEverywhere,
} from '../../contracts/identity.js';
import { parseSent, Send, sendEmailCommandStreamName, type BookSent, type Sent } from '../../contracts/send-email.js';
import {
  decideRegistration,
  decideRegistrationEmailSent,
  decideReservationOfRegistered,
  decideUnlock,
  nothing,
  type Decision,
  type Write,
} from './decisions.js';
import {
  confirmationEmail,
  decideConfirmation,
  decideConfirmationRequest,
  newToken,
  unlockEmail,
  type ConfirmationPolicy,
} from './confirmation.js';
import { identityProjection, type Identity } from './identity.js';
import {
  decidePasswordChange,
  decidePasswordReset,
  decidePasswordResetRequest,
  passwordResetEmail,
  type PasswordResetPolicy,
} from './password-reset.js';
import { registrationEmailId } from './ids.js';
import { decideAccountDeletion, decideEmailRelease, decideLogOutEverywhere } from './account.js';
import { decideLock, loginHistoryUpTo, type LockPolicy } from './locking.js';
import { emailReservationProjection } from './reservation.js';
import type { EmailTemplates } from './templates.js';

/** What handling a message did. */
export type { Outcome };

export type Handler = (message: StoredMessage) => Promise<Outcome>;

export interface HandlerDependencies {
  messageStore: MessageStore;
  emailTemplates: EmailTemplates;
  lockPolicy: LockPolicy;
  confirmationPolicy: ConfirmationPolicy;
  passwordResetPolicy: PasswordResetPolicy;
  logger: Logger;
}

/**
 * The identity component's handlers: each one validates the message, loads what it decides from (its own
 * streams), decides (pure, see decisions.ts and locking.ts) and writes — entity events with the expected
 * version of the projection the decision saw.
 */
export function createHandlers({
  messageStore,
  emailTemplates,
  lockPolicy,
  confirmationPolicy,
  passwordResetPolicy,
  logger,
}: HandlerDependencies) {
  const loadIdentity = (userId: string) => messageStore.fetch(identityStreamName(userId), identityProjection);

  const loadReservation = (email: string) =>
    messageStore.fetch(identityEmailStreamName(email), emailReservationProjection);

  const loadLoginHistory = async (failure: UserLoginFailed) =>
    (await messageStore.fetch(failure.streamName, loginHistoryUpTo(failure.position, lockPolicy.maxFailures))).entity;

  // Entity events are written with the expected version of the projection decided on, decided again on a
  // conflict (after 3 decisions the subscription retries or parks the message); other components' commands
  // without one.
  const { carryOut, decidingAgainOnConflict, decideOn } = createDecider({
    store: messageStore,
    name: 'identity',
    logger,
  });

  /**
   * The confirmation link: its request (with the token's hash) in the identity stream, then the e-mail with
   * the token itself. The token exists only here, so a request written by someone else (another instance,
   * an earlier attempt) sends nothing: that one sent its own.
   */
  const askForConfirmation = (cause: Registered | RequestEmailConfirmation) =>
    decidingAgainOnConflict(cause, async () => {
      const { entity: identity, version } = await loadIdentity(cause.data.userId);
      const token = newToken();
      const askedFor =
        cause.type === 'Registered' && !identity.confirmationRequested && !identity.registrationEmailSent
          ? await registrationEmailAskedFor(cause)
          : false;
      const decision = decideConfirmationRequest(identity, cause, token, confirmationPolicy, askedFor);
      const requested = await carryOut(decision, version);
      if (requested.kind === 'nothing' || decision.kind === 'nothing') return requested;
      const request = EmailConfirmationRequested.parse(storedAs(decision, requested.position));
      return carryOut(confirmationEmail(cause, request, token, emailTemplates, confirmationPolicy));
    });

  /**
   * Whether this identity's registration e-mail was asked for already: a `Send` of it in its e-mail's command
   * stream. Only the book's system writes one without `EmailConfirmationRequested` (this system writes that first).
   */
  const registrationEmailAskedFor = async (registered: Registered) => {
    const emailId = registrationEmailId(registered.data.email);
    const requester = identityStreamName(registered.data.userId);
    const commands = await messageStore.read(sendEmailCommandStreamName(emailId));
    return commands.some((command) => Send.is(command) && command.metadata.originStreamName === requester);
  };

  /**
   * A command decided on the user's identity alone: validated, decided (pure) and written with the identity's
   * expected version, decided again on a conflict.
   */
  const decidedOnIdentity =
    <C extends StoredMessage & { data: { userId: string } }>(
      definition: { parse(message: StoredMessage): C },
      decide: (identity: Identity, command: C) => Decision,
    ) =>
    async (message: StoredMessage): Promise<Outcome> => {
      const command = definition.parse(message);
      ensureWrittenTo(command, identityCommandStreamName(command.data.userId));
      return decideOn(command, identityStreamName(command.data.userId), identityProjection, (identity) =>
        decide(identity, command),
      );
    };

  const commands = {
    Register: async (message: StoredMessage): Promise<Outcome> => {
      const command = Register.parse(message);
      ensureWrittenTo(command, identityCommandStreamName(command.data.userId));
      return decidingAgainOnConflict(command, async () => {
        // The reservation of the address first (expected version -1), then, decided again, the registration.
        for (let step = 1; ; step++) {
          const { entity: identity, version } = await loadIdentity(command.data.userId);
          const { entity: reservation, version: reservationVersion } = await loadReservation(command.data.email);
          const decision = decideRegistration(identity, command, reservation);
          if (decision.kind === 'nothing' || decision.message.type !== EmailReserved.type)
            return carryOut(decision, version);
          const reserved = await carryOut(decision, reservationVersion);
          if (step > 1) return reserved; // a reservation read back always holds: never reached
        }
      });
    },

    RequestEmailConfirmation: async (message: StoredMessage): Promise<Outcome> => {
      const command = RequestEmailConfirmation.parse(message);
      ensureWrittenTo(command, identityCommandStreamName(command.data.userId));
      return askForConfirmation(command);
    },

    ConfirmEmail: decidedOnIdentity(ConfirmEmail, decideConfirmation),

    UnlockAccount: decidedOnIdentity(UnlockAccount, decideUnlock),

    // The reset link: its request (with the token's hash) first, then the e-mail with the token, as for confirmation.
    RequestPasswordReset: async (message: StoredMessage): Promise<Outcome> => {
      const command = RequestPasswordReset.parse(message);
      ensureWrittenTo(command, identityCommandStreamName(command.data.userId));
      return decidingAgainOnConflict(command, async () => {
        const { entity: identity, version } = await loadIdentity(command.data.userId);
        const token = newToken();
        const decision = decidePasswordResetRequest(identity, command, token, passwordResetPolicy);
        const requested = await carryOut(decision, version);
        if (requested.kind === 'nothing' || decision.kind === 'nothing' || identity.email === null) return requested;
        const request = PasswordResetRequested.parse(storedAs(decision, requested.position));
        await carryOut(
          passwordResetEmail(command, request, identity.email, token, emailTemplates, passwordResetPolicy),
        );
        return requested;
      });
    },

    ResetPassword: decidedOnIdentity(ResetPassword, decidePasswordReset),

    ChangePassword: decidedOnIdentity(ChangePassword, decidePasswordChange),

    LogOutEverywhere: decidedOnIdentity(LogOutEverywhere, decideLogOutEverywhere),

    DeleteAccount: decidedOnIdentity(DeleteAccount, decideAccountDeletion),
  };

  const events = {
    Registered: async (message: StoredMessage): Promise<Outcome> => {
      const event = Registered.parse(message);
      const { entity: reservation, version } = await loadReservation(event.data.email);
      // A conflict means someone reserved it meanwhile: the address is held either way.
      await carryOut(decideReservationOfRegistered(reservation, event), version).catch((error: unknown) => {
        if (!(error instanceof VersionConflictError)) throw error;
      });
      return askForConfirmation(event);
    },

    // The address is released by identity handling its own event, so a stop between the two writes loses nothing.
    AccountDeleted: async (message: StoredMessage): Promise<Outcome> => {
      const deleted = AccountDeleted.parse(message);
      ensureWrittenTo(deleted, identityStreamName(deleted.data.userId));
      return decidingAgainOnConflict(deleted, async () => {
        const { entity: identity } = await loadIdentity(deleted.data.userId);
        if (identity.email === null) return nothing('identity has no address');
        const { entity: reservation, version } = await loadReservation(identity.email);
        return carryOut(decideEmailRelease(identity.email, reservation, deleted), version);
      });
    },
  };

  const sendEmailEvents = {
    Sent: async (message: StoredMessage): Promise<Outcome> => {
      const sent = parseSent(message);
      const userId = requestingIdentity(sent);
      if (userId === null) return nothing('not an e-mail identity asked for');
      return decideOn(sent, identityStreamName(userId), identityProjection, (identity) =>
        decideRegistrationEmailSent(identity, sent),
      );
    },
  };

  const authenticationEvents = {
    UserLoginFailed: async (message: StoredMessage): Promise<Outcome> => {
      const failure = UserLoginFailed.parse(message);
      ensureWrittenTo(failure, authenticationStreamName(failure.data.userId));
      return decidingAgainOnConflict(failure, async () => {
        const { entity: identity, version } = await loadIdentity(failure.data.userId);
        const history = await loadLoginHistory(failure);
        const token = newToken();
        const decision = decideLock(identity, history, failure, lockPolicy, token);
        const locked = await carryOut(decision, version);
        if (locked.kind === 'nothing' || decision.kind === 'nothing' || identity.email === null) return locked;
        // The owner gets the unlock link; only this handler knows the token (its hash is in AccountLocked).
        const lock = AccountLocked.parse({ ...storedAs(decision, locked.position) });
        await carryOut(unlockEmail(failure, lock, identity.email, token, emailTemplates, confirmationPolicy));
        return locked;
      });
    },
    // UserLoggedIn needs no handler: it resets the count in the login history read when a failure is decided on.
  };

  return { commands, events, sendEmailEvents, authenticationEvents };
}

export type IdentityHandlers = ReturnType<typeof createHandlers>;

/** A message just written, as it is stored (enough of it for what follows it). */
function storedAs(written: Write, position: number): StoredMessage {
  const { message, streamName } = written;
  return { ...message, metadata: message.metadata ?? {}, streamName, position, globalPosition: -1, time: new Date() };
}

const uuid = z.uuid();

/** The user whose identity stream asked for this e-mail (`originStreamName: identity-{userId}`), if any. */
function requestingIdentity(sent: Sent | BookSent): string | null {
  const requester = originIdIn(sent, identityCategory);
  if (requester === null) return null;
  if (!uuid.safeParse(requester).success)
    throw new InvalidMessageError(sent.type, [
      `originStreamName ${String(sent.metadata.originStreamName ?? sent.metadata.correlationStreamName)} names no identity`,
    ]);
  return requester;
}
