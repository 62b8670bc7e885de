import { randomUUID } from 'node:crypto';
import type { MessageStore, Queryable } from 'message-db-toolkit';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { v5 as uuidV5 } from 'uuid';
import { z } from 'zod';
import { findRegistrationOutcome } from '../../aggregators/registration-monitor/index.js';
import { findCredentialsByEmail } from '../../aggregators/user-credentials/index.js';
import { DISPLAY_NAME_MAX, displayName, identityCommandStreamName, Register } from '../../contracts/identity.js';
import { hashPassword, type PasswordHashAlgorithm } from '../../passwords.js';
import { html } from '../../html.js';
import { errorSummary, fieldError, fieldState, titleWithErrors, type FormError } from '../../web/forms.js';
import { requestMetadata } from '../../web/request-metadata.js';

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

/** A form field as typed: text, or empty when it is missing or not text. */
const typedText = z.string().catch('');

/**
 * The form as posted, whatever it holds: its rules (`registration`) are checked by the route, which
 * shows their errors on the form. Other fields (the CSRF token) are kept for the server's checks.
 */
const registrationForm = z.preprocess(
  (body) => (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}),
  z.looseObject({ userId: typedText, email: typedText, password: typedText, displayName: typedText }),
);

/**
 * The registration a status page is about: its user id, when the link names one (`userId`), and
 * whether the link names any (`named`: the page then says its status may come in a moment).
 */
const registrationQuery = z
  .object({ userId: z.unknown().optional() })
  .transform(({ userId }) => ({ userId: z.uuid().safeParse(userId).data, named: Boolean(userId) }));

interface FormState {
  userId: string;
  /** As typed (the password never comes back). */
  email: string;
  displayName: string;
  errors: FormError[];
}

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
    // Routes validated by their zod schemas, typed by them (this plugin's routes only).
    plugin.setValidatorCompiler(validatorCompiler);
    const app = plugin.withTypeProvider<ZodTypeProvider>();

    app.get('/register', async (_request, reply) =>
      renderForm(reply, { userId: randomUUID(), email: '', displayName: '', errors: [] }),
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
        return renderForm(
          reply,
          {
            userId,
            email: typed.email.slice(0, 254),
            displayName: typed.displayName.slice(0, DISPLAY_NAME_MAX),
            errors,
          },
          400,
        );
      }
      const { email, password } = parsed.data;
      const name = parsed.data.displayName === '' ? {} : { displayName: parsed.data.displayName };
      const existing = await findCredentialsByEmail(viewData, email);
      if (existing && existing.id !== userId)
        return renderForm(
          reply,
          {
            userId,
            email,
            displayName: parsed.data.displayName,
            errors: [{ field: 'register-email', message: 'That e-mail address is already registered.' }],
          },
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
        if (outcome?.outcome === 'rejected')
          return reply.page(
            'Registration rejected',
            html`<div class="card narrow">
              <h1>We could not register you</h1>
              <div class="alert error" role="alert" data-testid="registration-rejected">
                ${rejectionMessages[outcome.reason ?? ''] ?? outcome.reason ?? 'Your registration was rejected.'}
              </div>
              <div class="actions"><a class="button" href="/register">Try again</a></div>
            </div>`,
          );
        return reply.page(
          'Registration complete',
          html`<div class="card narrow">
            <h1>Welcome aboard</h1>
            <div class="alert ok">
              ${
                outcome?.outcome === 'registered'
                  ? 'You are registered. We are sending you an e-mail to confirm your address.'
                  : 'Your registration is on its way. We are sending you a confirmation e-mail.'
              }
            </div>
            ${
              outcome === null && named
                ? html`<p class="muted">Reload this page in a moment to see that it went through.</p>`
                : ''
            }
            <div class="actions"><a class="button" href="/auth/log-in">Log in</a></div>
          </div>`,
        );
      },
    );
  };
}

/** Identity's reasons, in words for the user. */
const rejectionMessages: Record<string, string> = {
  'email already registered': 'That e-mail address is already registered. Log in instead.',
};

function renderForm(reply: FastifyReply, { userId, email, displayName, errors }: FormState, statusCode = 200) {
  // The password's error says what its hint does, and takes its place.
  const passwordError = errors.some((error) => error.field === 'register-password');
  return reply.page(
    titleWithErrors('Register', errors),
    html`<div class="card narrow">
      <h1>Create your account</h1>
      ${errorSummary(errors)}
      <form method="post" action="/register" class="stack" novalidate>
        <input type="hidden" name="_csrf" value="${reply.csrfToken()}" />
        <input type="hidden" name="userId" value="${userId}" />
        <div class="field">
          <label for="register-name">Your name <span class="muted">(optional)</span></label>
          <input
            id="register-name"
            type="text"
            name="displayName"
            value="${displayName}"
            autocomplete="name"
            maxlength="${DISPLAY_NAME_MAX}"
            ${fieldState(errors, 'register-name', errors.some((error) => error.field === 'register-name') ? undefined : 'register-name-hint')}
          />
          ${
            errors.some((error) => error.field === 'register-name')
              ? fieldError(errors, 'register-name')
              : html`<p class="field-hint" id="register-name-hint">We greet you by it in our e-mails.</p>`
          }
        </div>
        <div class="field">
          <label for="register-email">E-mail</label>
          <input
            id="register-email"
            type="email"
            name="email"
            value="${email}"
            autocomplete="email"
            inputmode="email"
            spellcheck="false"
            maxlength="254"
            required
            ${fieldState(errors, 'register-email')}
          />
          ${fieldError(errors, 'register-email')}
        </div>
        <div class="field">
          <label for="register-password">Password</label>
          <input
            id="register-password"
            type="password"
            name="password"
            autocomplete="new-password"
            minlength="8"
            maxlength="128"
            required
            ${fieldState(errors, 'register-password', passwordError ? undefined : 'register-password-hint')}
          />
          ${
            passwordError
              ? fieldError(errors, 'register-password')
              : html`<p class="field-hint" id="register-password-hint">At least 8 characters.</p>`
          }
        </div>
        <button type="submit" class="block">Register</button>
      </form>
      <p class="muted form-footer">Already have an account? <a href="/auth/log-in">Log in</a></p>
    </div>`,
    statusCode,
    { description: 'Create an account to upload your own video tutorials.' },
  );
}
