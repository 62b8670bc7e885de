/**
 * Controls for the send-email tests: canonical messages, and a real SMTP
 * server on loopback that keeps what it receives.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { Logger, MessageMetadata, MessageStore, StoredMessage } from 'message-db-toolkit';
import { Send, sendEmailCommandStreamName } from '../../contracts/send-email.js';

export const systemSenderEmailAddress = 'Video Tutorials <noreply@video-tutorials.example>';

export function exampleEmail(overrides: Partial<Send['data']> = {}): Send['data'] {
  return {
    emailId: randomUUID(),
    to: 'learner@example.com',
    subject: 'Welcome to Video Tutorials',
    text: 'Thanks for registering.',
    html: '<p>Thanks for registering.</p>',
    ...overrides,
  };
}

export function exampleOriginMetadata(overrides: MessageMetadata = {}): MessageMetadata {
  const userId = randomUUID();
  return { traceId: randomUUID(), userId, originStreamName: `identity-${userId}`, ...overrides };
}

/** Writes a `Send` as a requester would and returns it as stored. Data is not validated: tests send bad ones too. */
export async function requestEmail(
  store: MessageStore,
  data: Record<string, unknown> = exampleEmail(),
  metadata: MessageMetadata = exampleOriginMetadata(),
): Promise<StoredMessage> {
  const streamName = sendEmailCommandStreamName(String(data.emailId));
  const { position } = await store.write(streamName, { id: randomUUID(), type: Send.type, data, metadata });
  const [stored] = await store.read(streamName, { from: position, max: 1 });
  if (!stored) throw new Error(`The Send just written to ${streamName} cannot be read back`);
  return stored;
}

/** A logger that keeps what it is told, for tests that check which way a handler went. */
export function recordingLogger(): Logger & { messages: string[] } {
  const messages: string[] = [];
  const record = (_details: object, message: string) => void messages.push(message);
  return { messages, info: record, warn: record, error: record };
}

export interface ReceivedEmail {
  envelopeTo: string[];
  /** The message as transferred: headers, blank line, body. */
  raw: string;
  header(name: string): string | undefined;
}

export interface TestSmtpServer {
  /** With the credentials the server accepts. */
  url: string;
  received: ReceivedEmail[];
  /** RCPT TO commands seen, accepted or not: one per delivery attempt here. */
  recipientAttempts: number;
  close(): Promise<void>;
}

export async function startTestSmtpServer(options: { rejectRecipientsWith?: string } = {}): Promise<TestSmtpServer> {
  const credentials = { user: 'send-email', pass: 'secret' };
  const state: Pick<TestSmtpServer, 'received' | 'recipientAttempts'> = { received: [], recipientAttempts: 0 };
  const server = new SMTPServer({
    logger: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      if (auth.username === credentials.user && auth.password === credentials.pass)
        callback(null, { user: auth.username });
      else callback(new Error('Invalid username or password'));
    },
    onRcptTo(_address, _session, callback) {
      state.recipientAttempts++;
      callback(options.rejectRecipientsWith ? new Error(options.rejectRecipientsWith) : null);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        state.received.push(
          receivedEmail(
            session.envelope.rcptTo.map((to) => to.address),
            Buffer.concat(chunks),
          ),
        );
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://${credentials.user}:${credentials.pass}@127.0.0.1:${port}`,
    get received() {
      return state.received;
    },
    get recipientAttempts() {
      return state.recipientAttempts;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export function receivedEmail(envelopeTo: string[], message: Buffer | string): ReceivedEmail {
  const raw = message.toString();
  const [head = ''] = raw.split(/\r?\n\r?\n/, 1);
  const headers = new Map<string, string>();
  // Unfolded: a line that starts with white space continues the header above it.
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const separator = line.indexOf(':');
    if (separator > 0) headers.set(line.slice(0, separator).trim().toLowerCase(), line.slice(separator + 1).trim());
  }
  return { envelopeTo, raw, header: (name) => headers.get(name.toLowerCase()) };
}
