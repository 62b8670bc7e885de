import { messageInHand } from '@vt/message-store';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import type { LogLevel } from '../config.js';

/**
 * The system's logger: JSON lines (pino). A line written while a consumer handles a message carries
 * that message's `traceId`, `subscriberId` and `messageId` (the toolkit's `messageInHand`), so a
 * component's log lines join the request that started the work. Request log lines get `traceId` from
 * the web server (`requestIdLogLabel`).
 */
export function createLogger({
  level = 'info',
  destination,
}: { level?: LogLevel; destination?: DestinationStream } = {}): Logger {
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
  return destination ? pino(options, destination) : pino(options);
}
