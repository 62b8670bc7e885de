import type { Database, Logger, MessageStore, Queryable, StoredMessage } from 'message-db-toolkit';
import { identityCategory, Registered, RegistrationEmailSent, RegistrationRejected } from '../../contracts/identity.js';
import type { Piece } from '../../piece.js';
import { aggregatorPiece, type AggregatorDescriptor } from '../aggregator.js';
import { schema } from './schema.js';

export const descriptor = {
  name: 'registration-monitor',
  subscriptions: { events: { streamName: identityCategory, subscriberId: 'aggregators:registration-monitor' } },
  // overdue_since is set by the monitor's timer, not by messages: a rebuild clears it and the next check sets it again.
  tables: schema.tables,
} satisfies AggregatorDescriptor;

/**
 * The registration monitor (the book's chapter 14 idea): follows
 * registrations and their e-mails, and flags every registration whose e-mail
 * was not recorded as sent within `limitMs`, for the admin portal.
 */
export function build({
  store,
  viewData,
  limitMs = 5 * 60_000,
  checkIntervalMs = 30_000,
  logger,
}: {
  store: MessageStore;
  viewData: Database;
  limitMs?: number;
  checkIntervalMs?: number;
  logger?: Logger;
}): Piece & { apply: typeof applyRegistrationEvents; flagOverdue: (now?: Date) => Promise<number> } {
  const piece = aggregatorPiece(descriptor, applyRegistrationEvents, { store, viewData, logger });
  let timer: NodeJS.Timeout | undefined;

  const flagOverdue = async (now = new Date()) => {
    const flagged = await viewData.query<{ user_id: string; email: string }>(
      `UPDATE registration_emails SET overdue_since = $1
        WHERE email_sent_at IS NULL AND overdue_since IS NULL AND registered_at < $1::timestamptz - make_interval(secs => $2)
        RETURNING user_id, email`,
      [now.toISOString(), limitMs / 1000],
    );
    for (const registration of flagged)
      logger?.warn({ userId: registration.user_id }, 'registration e-mail not sent within the time limit');
    return flagged.length;
  };

  return {
    ...piece,
    flagOverdue,
    async start() {
      await piece.start();
      timer = setInterval(() => void flagOverdue().catch(() => {}), checkIntervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await piece.stop();
    },
  };
}

export async function applyRegistrationEvents(messages: StoredMessage[], tx: Queryable) {
  for (const message of messages) {
    if (Registered.is(message)) {
      const { userId, email } = Registered.parse(message).data;
      await tx.query(
        `INSERT INTO registration_emails (user_id, email, registered_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
        [userId, email, message.time.toISOString()],
      );
      await tx.query(
        `INSERT INTO registration_outcomes (user_id, outcome) VALUES ($1, 'registered')
         ON CONFLICT (user_id) DO UPDATE SET outcome = 'registered', reason = NULL`,
        [userId],
      );
    } else if (RegistrationRejected.is(message)) {
      const { userId, reason } = RegistrationRejected.parse(message).data;
      // A later Registered of the same user (a second attempt with another address) wins.
      await tx.query(
        `INSERT INTO registration_outcomes (user_id, outcome, reason) VALUES ($1, 'rejected', $2)
         ON CONFLICT (user_id) DO UPDATE SET reason = $2 WHERE registration_outcomes.outcome = 'rejected'`,
        [userId, reason],
      );
    } else if (RegistrationEmailSent.is(message)) {
      const { userId } = RegistrationEmailSent.parse(message).data;
      await tx.query(`UPDATE registration_emails SET email_sent_at = $2 WHERE user_id = $1 AND email_sent_at IS NULL`, [
        userId,
        message.time.toISOString(),
      ]);
    }
  }
}

/** How a registration turned out: `null` while identity has not answered it (or it is not applied yet). */
export async function findRegistrationOutcome(
  viewData: Queryable,
  userId: string,
): Promise<{ outcome: 'registered' | 'rejected'; reason: string | null } | null> {
  const [row] = await viewData.query<{ outcome: 'registered' | 'rejected'; reason: string | null }>(
    `SELECT outcome, reason FROM registration_outcomes WHERE user_id = $1`,
    [userId],
  );
  return row ?? null;
}

export async function listOverdueRegistrations(viewData: Queryable) {
  return viewData.query<{ user_id: string; email: string; registered_at: Date; overdue_since: Date }>(
    `SELECT user_id, email, registered_at, overdue_since FROM registration_emails
      WHERE overdue_since IS NOT NULL AND email_sent_at IS NULL ORDER BY registered_at`,
  );
}
