import type { FastifyInstance } from 'fastify';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';

/** A plugin's routes, validated by their zod schemas and typed by them (that plugin's routes only). */
export function zodRoutes(plugin: FastifyInstance) {
  plugin.setValidatorCompiler(validatorCompiler);
  return plugin.withTypeProvider<ZodTypeProvider>();
}

export type ZodRoutes = ReturnType<typeof zodRoutes>;

/** A form field as typed: text, or empty when it is missing or not text. */
export const typedText = z.string().catch('');

/**
 * A posted form, whatever it holds, read by `fields` (which must accept anything, e.g. `typedText`): its rules
 * are checked by the route, which shows their errors its own way. Other fields (the CSRF token) are kept for the
 * server's checks, which run after validation.
 */
export const formBody = <Fields extends z.ZodRawShape>(fields: Fields) =>
  z.preprocess(
    (body) => (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}),
    z.looseObject(fields),
  );

/**
 * A query or route parameters as `schema` reads them, or why it cannot: the route answers that with a page of
 * its own (a 404, a 400 in its section's layout) rather than the server's answer to a failed validation.
 */
export const parseResult = <Schema extends z.ZodType>(schema: Schema) =>
  z.unknown().transform((input) => schema.safeParse(input));
