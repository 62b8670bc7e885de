import { randomUUID } from 'node:crypto';
import type { MessageStore, Queryable } from 'message-db-toolkit';
import type { FastifyPluginAsync } from 'fastify';
import { v5 as uuidV5 } from 'uuid';
import { z } from 'zod';
import { findRegistrationOutcome } from '../../aggregators/registration-monitor/index.js';
import { findCredentialsByEmail } from '../../aggregators/user-credentials/index.js';
import { DISPLAY_NAME_MAX, displayName, identityCommandStreamName, Register } from '../../contracts/identity.js';
import { hashPassword, type PasswordHashAlgorithm } from '../../passwords.js';
import type { FormError } from '../../web/forms.js';
import { formBody, typedText, zodRoutes } from '../../web/input.js';
import { requestMetadata } from '../../web/request-metadata.js';
import { registrationFormPage, registrationStatusPage } from './views.js';

// Register's message id derives from the user id: submitting the form twice writes one command.
const REGISTER_COMMAND_NAMESPACE = 'c1b0e1a4-5b0f-4d8a-9f55-6d2f1e7c3a90';

const registration = z.object({
  userId: z.uuid({ error: 'This form has expired. Please reload the page.' }),
  email: z
    .string()
    .trim()
    .min(1, { error: 'Enter your e-mail address.' })
    .max(254, { error: 'That e-mail address is too long.' })
    .pipe(z.email({ error: 'Enter an e-mail address like name@example.com.' })),
  password: z
    .string()
    .min(8, { error: 'Use at least 8 characters.' })
    .max(128, { error: 'Use at most 128 characters.' }),
  // Optional: what the welcome e-mail greets. Blank is no name.
  displayName: z
    .string()
    .trim()
    .max(DISPLAY_NAME_MAX, { error: `Use at most ${DISPLAY_NAME_MAX} characters for your name.` })
    .refine((name) => name === '' || displayName.safeParse(name).success, {
      error: 'Your name cannot have line breaks, tabs or other control characters.',
    }),
});

/** The form as posted, whatever it holds: its rules (`registration`) are checked by the route. */
const registrationForm = formBody({ userId: typedText, email: typedText, password: typedText, displayName: typedText });

/**
 * The registration a status page is about: its user id, when the link names one (`userId`), and
 * whether the link names any (`named`: the page then says its status may come in a moment).
 */
const registrationQuery = z
  .object({ userId: z.unknown().optional() })
  .transform(({ userId }) => ({ userId: z.uuid().safeParse(userId).data, named: Boolean(userId) }));

/** The form's fields by what they are called in the request. */
const FIELD_IDS: Record<string, string | undefined> = {
  email: 'register-email',
  password: 'register-password',
  displayName: 'register-name',
};

/** The register-users application (the book's chapter 6). */
export function createRegisterUsersApp({
  store,
  viewData,
  passwordHashAlgorithm = 'argon2id',
}: {
  store: MessageStore;
  viewData: Queryable;
  /** How the new user's password is hashed (`PASSWORD_HASH_ALGORITHM`). */
  passwordHashAlgorithm?: PasswordHashAlgorithm;
}): FastifyPluginAsync {
  return async (plugin) => {
    const app = zodRoutes(plugin);

    app.get('/register', async (_request, reply) =>
      reply.view(
        registrationFormPage({
          csrfToken: reply.csrfToken(),
          userId: randomUUID(),
          email: '',
          displayName: '',
          errors: [],
        }),
      ),
    );

    app.post('/register', { schema: { body: registrationForm } }, async (request, reply) => {
      const typed = request.body;
      const parsed = registration.safeParse(typed);
      const userId = parsed.success
        ? parsed.data.userId
        : z.uuid().safeParse(typed.userId).success
          ? typed.userId
          : randomUUID();
      if (!parsed.success) {
        const errors = parsed.error.issues.map((issue): FormError => ({
          message: issue.message,
          field: FIELD_IDS[String(issue.path[0])],
        }));
        return reply.view(
          registrationFormPage({
            csrfToken: reply.csrfToken(),
            userId,
            email: typed.email.slice(0, 254),
            displayName: typed.displayName.slice(0, DISPLAY_NAME_MAX),
            errors,
          }),
          400,
        );
      }
      const { email, password } = parsed.data;
      const name = parsed.data.displayName === '' ? {} : { displayName: parsed.data.displayName };
      const existing = await findCredentialsByEmail(viewData, email);
      if (existing && existing.id !== userId)
        return reply.view(
          registrationFormPage({
            csrfToken: reply.csrfToken(),
            userId,
            email,
            displayName: parsed.data.displayName,
            errors: [{ field: 'register-email', message: 'That e-mail address is already registered.' }],
          }),
          400,
        );

      const command = Register.create(
        { userId, email, passwordHash: await hashPassword(password, passwordHashAlgorithm), ...name },
        { id: uuidV5(userId, REGISTER_COMMAND_NAMESPACE), metadata: requestMetadata(request, userId) },
      );
      await store.write(identityCommandStreamName(userId), command);
      return reply.redirect(`/register/registration-complete?userId=${userId}`, 303);
    });

    // The registration's status: identity decides asynchronously, and may reject it (an address already taken).
    app.get(
      '/register/registration-complete',
      { schema: { querystring: registrationQuery } },
      async (request, reply) => {
        const { userId, named } = request.query;
        const outcome = userId !== undefined ? await findRegistrationOutcome(viewData, userId) : null;
        return reply.view(registrationStatusPage({ outcome, named }));
      },
    );
  };
}
