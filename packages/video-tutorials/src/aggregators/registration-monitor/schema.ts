import type { ViewDataSchema } from '../../view-data/schema.js';

/**
 * The registration monitor's tables, as the migrations make them: `registration_emails` (each registration's
 * e-mail, sent or overdue) and `registration_outcomes` (for the registration's status page).
 */
export const schema: ViewDataSchema = {
  tables: [{ name: 'registration_emails' }, { name: 'registration_outcomes' }],
  steps: {
    '0003-registration-monitor': `
      CREATE TABLE registration_emails (
        user_id uuid PRIMARY KEY,
        email text NOT NULL,
        registered_at timestamptz NOT NULL,
        email_sent_at timestamptz,
        overdue_since timestamptz
      );
      CREATE INDEX registration_emails_waiting ON registration_emails (registered_at)
        WHERE email_sent_at IS NULL AND overdue_since IS NULL;`,
    '0005-admin': `

      -- The health page's list of registrations the registration monitor flagged.
      CREATE INDEX registration_emails_overdue ON registration_emails (registered_at)
        WHERE overdue_since IS NOT NULL AND email_sent_at IS NULL;`,
    '0008-accounts': `
      -- The outcome of each registration, for its status page (registration monitor).
      CREATE TABLE registration_outcomes (
        user_id uuid PRIMARY KEY,
        outcome text NOT NULL CHECK (outcome IN ('registered', 'rejected')),
        reason text
      );`,
  },
};
