import { messageInHand } from 'message-db-toolkit';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import pretty from 'pino-pretty';
import type { Config, LogLevel } from '../config.js';

/** How log lines are written: JSON lines, or lines for a person at a terminal (pino-pretty). */
export type LogFormat = 'json' | 'pretty';

/**
 * Pretty only in development with standard output a terminal; JSON lines otherwise — always in production
 * and test, and in development too when the output goes to a file, a pipe or a log collector.
 */
export function chooseLogFormat(environment: Config['environment'], isTTY: boolean | undefined): LogFormat {
  return environment === 'development' && isTTY === true ? 'pretty' : 'json';
}

/**
 * The system's logger: JSON lines (pino) — or, with `format: 'pretty'`, the same lines made readable on
 * standard output. A line written while a consumer handles a message carries that message's `traceId`,
 * `subscriberId` and `messageId` (the toolkit's `messageInHand`), so a component's log lines join the
 * request that started the work. Request log lines get `traceId` from the web server (`requestIdLogLabel`).
 */
export function createLogger({
  level = 'info',
  destination,
  format = 'json',
}: { level?: LogLevel; destination?: DestinationStream; format?: LogFormat } = {}): Logger {
  const options: LoggerOptions = {
    level,
    mixin() {
      const inHand = messageInHand();
      if (!inHand) return {};
      return {
        ...(inHand.traceId ? { traceId: inHand.traceId } : {}),
        subscriberId: inHand.subscriberId,
        messageId: inHand.messageId,
      };
    },
  };
  if (format === 'pretty')
    // In this thread and synchronous, as pino's own standard output is: nothing is lost at process.exit.
    return pino(
      options,
      pretty({
        colorize: true,
        sync: true,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'pid,hostname',
        ...(destination ? { destination } : {}),
      }),
    );
  return destination ? pino(options, destination) : pino(options);
}
