import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { createMessageStore, createSubscription } from 'message-db-toolkit';
import { createTestDatabase, exampleMessage, uniqueCategory, type TestDatabase } from 'message-db-toolkit/controls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logLines } from '../test-support/log-lines.js';
import { chooseLogFormat, createLogger } from './logging.js';

let test: TestDatabase;
beforeAll(async () => {
  test = await createTestDatabase();
});
afterAll(() => test.drop());

describe('the system logger', () => {
  it('adds the traceId of the message in hand to what a handler logs, and nothing outside handlers', async () => {
    const destination = logLines();
    const logger = createLogger({ level: 'info', destination });
    const store = createMessageStore({ db: test.db });
    const category = uniqueCategory();
    const message = exampleMessage({ type: 'Noted' });
    await store.write(`${category}-1`, message);
    const subscriberId = `components:${randomUUID()}`;
    const subscription = createSubscription({
      store,
      streamName: category,
      subscriberId,
      logger,
      handlers: {
        Noted: async () => {
          await Promise.resolve();
          logger.info({ detail: 1 }, 'noting it');
        },
      },
    });
    await subscription.start();
    await subscription.waitUntilCaughtUp();
    await subscription.stop();
    logger.info('outside any handler');

    expect(destination.lines.find((line) => line.msg === 'noting it')).toMatchObject({
      level: 30,
      detail: 1,
      traceId: message.metadata!.traceId,
      subscriberId,
      messageId: message.id,
    });
    expect(destination.lines.find((line) => line.msg === 'outside any handler')).not.toHaveProperty('traceId');
  });

  it('logs at the level it is given', () => {
    const destination = logLines();
    const logger = createLogger({ level: 'warn', destination });
    logger.info('not written');
    logger.warn('written');
    expect(destination.lines.map((line) => line.msg)).toEqual(['written']);
  });
});

describe('the log format', () => {
  it.each([
    ['development', true, 'pretty'],
    ['development', false, 'json'],
    ['development', undefined, 'json'],
    ['production', true, 'json'],
    ['production', undefined, 'json'],
    ['test', true, 'json'],
    ['test', false, 'json'],
  ] as const)('with NODE_ENV=%s and a terminal %s is %s', (environment, isTTY, format) => {
    expect(chooseLogFormat(environment, isTTY)).toBe(format);
  });

  it('pretty writes readable lines, with the fields, instead of JSON', () => {
    const chunks: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger({ level: 'info', destination, format: 'pretty' });
    logger.info({ detail: 'a detail' }, 'something happened');
    const output = chunks.join('');
    expect(output).toContain('something happened');
    expect(output).toContain('a detail');
    expect(output).toMatch(/INFO/);
    expect(() => JSON.parse(output) as unknown).toThrow();
  });
});
