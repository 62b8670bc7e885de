import type { ParkedMessage, StoredMessage, StreamSummary } from 'message-db-toolkit';
import type { CategorySummary } from '../../aggregators/admin-streams/index.js';
import type { AdminUser } from '../../aggregators/admin-users/index.js';
import { html, type SafeHtml } from '../../html.js';
import type { PageOptions } from '../../web/layout.js';

/**
 * The admin portal's pages: server-rendered from what the routes read, every value escaped by `html`. Each
 * returns the page for the shared layout; the route decides its status code.
 */

export type Section = 'health' | 'users' | 'messages' | 'streams' | 'categories' | 'subscribers';

const SECTIONS: [Section, string, string][] = [
  ['health', '/admin', 'Health'],
  ['users', '/admin/users', 'Users'],
  ['messages', '/admin/messages', 'Messages'],
  ['streams', '/admin/streams', 'Streams'],
  ['categories', '/admin/categories', 'Categories'],
  ['subscribers', '/admin/subscriber-positions', 'Consumers'],
];

/** A page of the admin portal, in section `section`: its navigation, then `body`. */
export function adminPage(section: Section, title: string, body: SafeHtml): PageOptions {
  return {
    title: `${title} · Admin`,
    body: html`<div class="admin">
      <nav class="admin-nav" aria-label="Admin">
        ${SECTIONS.map(
          ([name, href, label]) =>
            html`<a
              href="${href}"
              class="nav-link${name === section ? ' active' : ''}"
              ${name === section ? html`aria-current="page"` : ''}
              >${label}</a
            >`,
        )}
      </nav>
      ${body}
    </div>`,
  };
}

// ---------- Small pieces ----------

const numberFormat = new Intl.NumberFormat('en-US');
export const count = (value: number) => numberFormat.format(value);

export function when(date: Date | null | undefined) {
  if (!date || Number.isNaN(date.getTime())) return html`<span class="muted">—</span>`;
  const iso = date.toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')}</time>`;
}

export const pretty = (value: unknown) => html`<pre class="json">${JSON.stringify(redacted(value), null, 2)}</pre>`;

function preview(value: unknown, length = 90) {
  const text = JSON.stringify(redacted(value)) ?? '';
  return text.length > length ? `${text.slice(0, length)}…` : text;
}

/** Secrets in messages (password hashes, tokens) are never shown, not even to admins. */
const SECRET_FIELD = /password|token|secret/i;
export const REDACTED = '[redacted]';

export function redacted(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== 'object' || depth > 32) return value;
  if (Array.isArray(value)) return value.map((item) => redacted(item, depth + 1));
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, SECRET_FIELD.test(key) ? REDACTED : redacted(item, depth + 1)]),
  );
}

export const messageHref = (message: StoredMessage) => `/admin/messages/${message.id}`;
export const streamHref = (streamName: string) => `/admin/streams/${encodeURIComponent(streamName)}`;
export const traceHref = (traceId: string) => `/admin/traces/${encodeURIComponent(traceId)}`;
export const userHref = (userId: string) => `/admin/users/${encodeURIComponent(userId)}`;
export const query = (params: Record<string, string | number | undefined>) => {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params))
    if (value !== undefined && value !== '') search.set(name, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
};

const traceOf = (message: StoredMessage) =>
  typeof message.metadata.traceId === 'string' ? message.metadata.traceId : undefined;

function traceLink(message: StoredMessage) {
  const traceId = traceOf(message);
  return traceId ? html`<a href="${traceHref(traceId)}" title="${traceId}">${traceId.slice(0, 8)}…</a>` : '';
}

export function pager(links: { newest?: string | undefined; newer?: string | undefined; older?: string | undefined }) {
  if (!links.newest && !links.newer && !links.older) return html``;
  return html`<nav class="pager" aria-label="Pages">
    ${links.newest ? html`<a class="button small secondary" href="${links.newest}">Newest</a>` : ''}
    ${links.newer ? html`<a class="button small secondary" href="${links.newer}" rel="prev">← Newer</a>` : ''}
    ${links.older ? html`<a class="button small secondary" href="${links.older}" rel="next">Older →</a>` : ''}
  </nav>`;
}

function table(head: SafeHtml, rows: SafeHtml[], empty: string) {
  if (rows.length === 0) return html`<p class="muted">${empty}</p>`;
  return html`<div class="table-scroll">
    <table class="data">
      <thead>
        ${head}
      </thead>
      <tbody>
        ${rows}
      </tbody>
    </table>
  </div>`;
}

/** Messages as a table: where each is, what it is, its trace and a glimpse of its data. */
export function messageTable(messages: StoredMessage[], empty = 'No messages.', { showStream = true } = {}) {
  return table(
    html`<tr>
      <th scope="col" class="number">#</th>
      <th scope="col">Time</th>
      ${showStream ? html`<th scope="col">Stream</th>` : html`<th scope="col" class="number">Position</th>`}
      <th scope="col">Type</th>
      <th scope="col">Trace</th>
      <th scope="col">Data</th>
    </tr>`,
    messages.map(
      (message) =>
        html`<tr>
          <td class="number"><a href="${messageHref(message)}">${message.globalPosition}</a></td>
          <td class="nowrap">${when(message.time)}</td>
          ${
            showStream
              ? html`<td><a href="${streamHref(message.streamName)}">${message.streamName}</a></td>`
              : html`<td class="number">${message.position}</td>`
          }
          <td><a href="${messageHref(message)}">${message.type}</a></td>
          <td class="nowrap">${traceLink(message)}</td>
          <td><code class="preview">${preview(message.data)}</code></td>
        </tr>`,
    ),
    empty,
  );
}

function stat(value: string, label: string, href?: string) {
  const inner = html`<span class="admin-stat-value">${value}</span><span class="admin-stat-label">${label}</span>`;
  return href
    ? html`<a class="admin-stat card" href="${href}">${inner}</a>`
    : html`<div class="admin-stat card">${inner}</div>`;
}

// ---------- Health ----------

const shownOf = (shown: number, total: number, which: string) =>
  shown < total ? html`<p class="muted">Showing the ${which} ${count(shown)} of ${count(total)}.</p>` : '';

export interface ConsumerStatus {
  /** Its position stream; null when the position is kept in View Data (aggregators). */
  streamName: string | null;
  subscriberId: string;
  member: number | null;
  groupSize: number | null;
  reads: string | null;
  /** For an id no consumer here uses any more (the book's, or an earlier one): the consumers that carried on from it. */
  carriedOnBy: readonly string[];
  position: number;
  head: number | null;
  unread: number | null;
  updatedAt: Date;
}

export interface HealthView {
  headPosition: number;
  messageCount: number;
  streamCount: number;
  categoryCount: number;
  consumers: ConsumerStatus[];
  lagging: ConsumerStatus[];
  laggingAt: number;
  unreadCountedUpTo: number;
  /** The newest parked messages, of `parkedCount`. */
  parked: ParkedMessage[];
  parkedCount: number;
  /** The latest flagged registrations, of `overdueCount`. */
  overdue: { user_id: string; email: string; registered_at: Date; overdue_since: Date }[];
  overdueCount: number;
  notice?: string | undefined;
  csrfToken: string;
}

const memberLabel = (consumer: { member: number | null; groupSize: number | null }) =>
  consumer.member === null
    ? ''
    : html` <span class="badge">member ${consumer.member + 1} of ${consumer.groupSize}</span>`;

function unreadLabel(consumer: ConsumerStatus, countedUpTo: number) {
  if (consumer.unread === null) return html`<span class="muted">—</span>`;
  return consumer.unread >= countedUpTo ? `${count(countedUpTo)}+` : count(consumer.unread);
}

export function healthPage(view: HealthView) {
  return adminPage(
    'health',
    'System health',
    html`<h1>System health</h1>
      ${view.notice ? html`<div class="alert ok" role="status">${view.notice}</div>` : ''}
      <div class="admin-stats">
        ${stat(count(view.messageCount), 'messages', '/admin/messages')}
        ${stat(count(view.streamCount), 'streams', '/admin/streams')}
        ${stat(count(view.categoryCount), 'categories', '/admin/categories')}
        ${stat(count(view.consumers.length), 'consumers', '/admin/subscriber-positions')}
        ${stat(count(view.parkedCount), view.parkedCount === 1 ? 'parked message' : 'parked messages')}
      </div>
      <p class="muted">Newest global position: ${count(view.headPosition)}.</p>

      <section class="card">
        <h2>Consumers behind</h2>
        <p class="muted">
          Consumers with ${count(view.laggingAt)} or more messages they have not read. Fewer is normal: consumers record
          their position every ${count(view.laggingAt)} messages.
        </p>
        ${table(
          html`<tr>
            <th scope="col">Consumer</th>
            <th scope="col">Reads</th>
            <th scope="col" class="number">Unread</th>
            <th scope="col" class="number">Lag</th>
            <th scope="col">Position recorded</th>
          </tr>`,
          view.lagging.map(
            (consumer) =>
              html`<tr>
                <td>${consumer.subscriberId}${memberLabel(consumer)}</td>
                <td>${consumer.reads ?? '—'}</td>
                <td class="number">
                  <span class="badge failed">${unreadLabel(consumer, view.unreadCountedUpTo)}</span>
                </td>
                <td class="number">
                  ${consumer.head === null ? '—' : count(Math.max(0, consumer.head - consumer.position))}
                </td>
                <td class="nowrap">${when(consumer.updatedAt)}</td>
              </tr>`,
          ),
          'Every consumer is caught up.',
        )}
      </section>

      <section class="card">
        <h2>Parked messages</h2>
        <p class="muted">
          Messages a consumer could not handle. Retry one once its cause is fixed: the consumer handles it again when it
          is next idle.
        </p>
        ${table(
          html`<tr>
            <th scope="col">Consumer</th>
            <th scope="col">Message</th>
            <th scope="col">Error</th>
            <th scope="col" class="number">Attempts</th>
            <th scope="col">Parked</th>
            <th scope="col"><span class="visually-hidden">Action</span></th>
          </tr>`,
          view.parked.map(
            (parked) =>
              html`<tr data-parked-message="${parked.messageId}">
                <td>${parked.subscriberId}</td>
                <td>
                  <a href="/admin/messages/${encodeURIComponent(parked.messageId)}">${parked.type}</a>
                  <div class="muted small">${parked.streamName} · #${parked.globalPosition}</div>
                </td>
                <td><code class="preview">${parked.error}</code></td>
                <td class="number">${parked.attempts}</td>
                <td class="nowrap">${when(new Date(parked.parkedAt))}</td>
                <td>
                  ${
                    parked.state === 'retry-requested'
                      ? html`<span class="badge">Retry requested</span>`
                      : html`<form method="post" action="/admin/parked-messages/retry" class="inline">
                          <input type="hidden" name="_csrf" value="${view.csrfToken}" />
                          <input type="hidden" name="subscriberId" value="${parked.subscriberId}" />
                          <input type="hidden" name="messageId" value="${parked.messageId}" />
                          <button type="submit" class="small">Retry</button>
                        </form>`
                  }
                </td>
              </tr>`,
          ),
          'No parked messages.',
        )}
        ${shownOf(view.parked.length, view.parkedCount, 'newest')}
      </section>

      <section class="card">
        <h2>Registrations without their e-mail</h2>
        <p class="muted">Flagged by the registration monitor: the registration e-mail was not sent in time.</p>
        ${table(
          html`<tr>
            <th scope="col">User</th>
            <th scope="col">Registered</th>
            <th scope="col">Flagged</th>
          </tr>`,
          view.overdue.map(
            (registration) =>
              html`<tr>
                <td><a href="${userHref(registration.user_id)}">${registration.email}</a></td>
                <td class="nowrap">${when(new Date(registration.registered_at))}</td>
                <td class="nowrap">${when(new Date(registration.overdue_since))}</td>
              </tr>`,
          ),
          'No registration is waiting for its e-mail.',
        )}
        ${shownOf(view.overdue.length, view.overdueCount, 'latest')}
      </section>`,
  );
}

// ---------- Consumers ----------

export function consumersPage(consumers: ConsumerStatus[], unreadCountedUpTo: number) {
  return adminPage(
    'subscribers',
    'Consumers',
    html`<h1>Consumers</h1>
      <p class="muted">
        Where every consumer (and consumer-group member) has recorded its position, against the newest message of what
        it reads. Lag is that newest global position minus the position; unread counts the messages after it.
      </p>
      ${table(
        html`<tr>
          <th scope="col">Consumer</th>
          <th scope="col">Reads</th>
          <th scope="col" class="number">Position</th>
          <th scope="col" class="number">Head</th>
          <th scope="col" class="number">Lag</th>
          <th scope="col" class="number">Unread</th>
          <th scope="col">Recorded</th>
        </tr>`,
        consumers.map(
          (consumer) =>
            html`<tr>
              <td>
                ${
                  consumer.streamName === null
                    ? html`${consumer.subscriberId} <span class="badge">View Data</span>`
                    : html`<a href="${streamHref(consumer.streamName)}">${consumer.subscriberId}</a>`
                }${memberLabel(consumer)}
              </td>
              <td>
                ${
                  consumer.reads ??
                  (consumer.carriedOnBy.length > 0
                    ? html`<span class="muted">carried on by ${consumer.carriedOnBy.join(', ')}</span>`
                    : html`<span class="muted">unknown</span>`)
                }
              </td>
              <td class="number">${count(consumer.position)}</td>
              <td class="number">${consumer.head === null ? '—' : count(consumer.head)}</td>
              <td class="number" data-lag>
                ${consumer.head === null ? '—' : count(Math.max(0, consumer.head - consumer.position))}
              </td>
              <td class="number">${unreadLabel(consumer, unreadCountedUpTo)}</td>
              <td class="nowrap">${when(consumer.updatedAt)}</td>
            </tr>`,
        ),
        'No consumer has recorded a position yet.',
      )}`,
  );
}

// ---------- Users ----------

function userStatus(user: AdminUser) {
  return user.locked
    ? html`<span class="badge failed">Locked</span>`
    : html`<span class="badge published">Active</span>`;
}

export function usersPage(view: { users: AdminUser[]; search: string; next: string | null; first: string | null }) {
  return adminPage(
    'users',
    'Users',
    html`<h1>Users</h1>
      <form method="get" action="/admin/users" class="filters" role="search">
        <label>E-mail starts with <input type="text" name="search" value="${view.search}" maxlength="254" /></label>
        <button type="submit" class="small">Find</button>
        ${view.search ? html`<a href="/admin/users">Show all</a>` : ''}
      </form>
      ${table(
        html`<tr>
          <th scope="col">E-mail</th>
          <th scope="col">Registered</th>
          <th scope="col" class="number">Log-ins</th>
          <th scope="col">Registration e-mail</th>
          <th scope="col">Status</th>
        </tr>`,
        view.users.map(
          (user) =>
            html`<tr data-user-id="${user.id}">
              <td><a href="${userHref(user.id)}">${user.email ?? html`<span class="muted">${user.id}</span>`}</a></td>
              <td class="nowrap">${when(user.registeredAt)}</td>
              <td class="number">${count(user.loginCount)}</td>
              <td>
                ${
                  user.registrationEmailSentAt
                    ? html`<span class="badge published">Sent</span>`
                    : html`<span class="badge">Not sent</span>`
                }
              </td>
              <td>${userStatus(user)}</td>
            </tr>`,
        ),
        view.search ? 'No user’s e-mail starts with that.' : 'No users yet.',
      )}
      ${
        view.next || view.first
          ? html`<nav class="pager" aria-label="Pages">
              ${view.first ? html`<a class="button small secondary" href="${view.first}">First</a>` : ''}
              ${view.next ? html`<a class="button small secondary" href="${view.next}" rel="next">Next →</a>` : ''}
            </nav>`
          : ''
      }`,
  );
}

export interface UserView {
  user: AdminUser;
  logIns: StoredMessage[];
  viewings: StoredMessage[];
  messages: StoredMessage[];
  pages: { newest?: string | undefined; older?: string | undefined };
  unlockRequested?: string | undefined;
  csrfToken: string;
}

export function userPage(view: UserView) {
  const { user } = view;
  return adminPage(
    'users',
    user.email ?? user.id,
    html`<p><a href="/admin/users">← Users</a></p>
      <section class="card">
        <h1>${user.email ?? 'Unknown e-mail'} ${userStatus(user)}</h1>
        ${
          view.unlockRequested
            ? html`<div class="alert ok" role="status">
                Unlock requested. <a href="${traceHref(view.unlockRequested)}">Follow it on its trace</a>.
              </div>`
            : ''
        }
        <dl class="facts">
          <dt>User id</dt>
          <dd><code>${user.id}</code></dd>
          <dt>Registered</dt>
          <dd>${when(user.registeredAt)}</dd>
          <dt>Registration e-mail</dt>
          <dd>${user.registrationEmailSentAt ? html`sent ${when(user.registrationEmailSentAt)}` : 'not sent'}</dd>
          <dt>Log-ins</dt>
          <dd>
            ${count(user.loginCount)}${user.lastLoggedInAt ? html`, last ${when(user.lastLoggedInAt)}` : ''};
            ${count(user.failedLoginCount)} failed
          </dd>
          <dt>Videos watched</dt>
          <dd>${count(user.viewCount)}${user.lastViewedAt ? html`, last ${when(user.lastViewedAt)}` : ''}</dd>
          <dt>Account</dt>
          <dd>${user.locked ? html`locked ${when(user.lockedAt)}` : 'not locked'}</dd>
        </dl>
        ${
          user.locked
            ? html`<form method="post" action="${userHref(user.id)}/unlock" class="inline">
                <input type="hidden" name="_csrf" value="${view.csrfToken}" />
                <button type="submit">Unlock the account</button>
              </form>`
            : ''
        }
      </section>
      <section class="card">
        <h2>Log-in activity</h2>
        ${messageTable(view.logIns, 'No log-ins yet.', { showStream: false })}
        ${
          view.logIns.length > 0
            ? html`<p><a href="${streamHref(`authentication-${user.id}`)}">The whole authentication stream</a></p>`
            : ''
        }
      </section>
      <section class="card">
        <h2>Viewing activity</h2>
        ${messageTable(view.viewings, 'No videos watched yet.')}
      </section>
      <section class="card" id="messages">
        <h2>Every message about them</h2>
        ${messageTable(view.messages, 'No messages.')} ${pager(view.pages)}
      </section>`,
  );
}

// ---------- Messages ----------

export interface MessagesView {
  messages: StoredMessage[];
  category: string;
  type: string;
  categories: CategorySummary[];
  /** A type search stopped at its window at this global position (the pager goes on from there). */
  searchedTo?: number | undefined;
  pages: { newest?: string | undefined; newer?: string | undefined; older?: string | undefined };
}

export function messagesPage(view: MessagesView) {
  const types = [...new Set(view.categories.flatMap((category) => category.types.map((type) => type.type)))].sort();
  return adminPage(
    'messages',
    'Messages',
    html`<h1>Messages</h1>
      <form method="get" action="/admin/messages" class="filters">
        <label
          >Category
          <select name="category">
            <option value="">All categories</option>
            ${view.categories.map(
              (category) =>
                html`<option value="${category.category}" ${category.category === view.category ? html`selected` : ''}>
                  ${category.category}
                </option>`,
            )}
          </select>
        </label>
        <label>Type <input type="text" name="type" value="${view.type}" list="message-types" maxlength="200" /></label>
        <datalist id="message-types">${types.map((type) => html`<option value="${type}"></option>`)}</datalist>
        <button type="submit" class="small">Filter</button>
        ${view.category || view.type ? html`<a href="/admin/messages">Clear</a>` : ''}
      </form>
      ${
        view.searchedTo !== undefined
          ? html`<p class="muted">Searched up to global position ${view.searchedTo}: the next page searches on.</p>`
          : ''
      }
      ${messageTable(view.messages, 'No messages here.')} ${pager(view.pages)}`,
  );
}

export interface MessageView {
  message: StoredMessage;
  cause: StoredMessage | null;
  effects: StoredMessage[];
}

export function messagePage({ message, cause, effects }: MessageView) {
  const traceId = traceOf(message);
  const userId = typeof message.metadata.userId === 'string' ? message.metadata.userId : undefined;
  const causePosition = message.metadata.causationMessageGlobalPosition;
  return adminPage(
    'messages',
    message.type,
    html`<p><a href="/admin/messages">← Messages</a></p>
      <section class="card">
        <h1>${message.type}</h1>
        <dl class="facts">
          <dt>Id</dt>
          <dd><code>${message.id}</code></dd>
          <dt>Stream</dt>
          <dd><a href="${streamHref(message.streamName)}">${message.streamName}</a>, position ${message.position}</dd>
          <dt>Global position</dt>
          <dd>${message.globalPosition}</dd>
          <dt>Time</dt>
          <dd>${when(message.time)}</dd>
          <dt>Trace</dt>
          <dd>
            ${traceId ? html`<a href="${traceHref(traceId)}">${traceId}</a>` : html`<span class="muted">none</span>`}
          </dd>
          <dt>User</dt>
          <dd>${userId ? html`<a href="${userHref(userId)}">${userId}</a>` : html`<span class="muted">none</span>`}</dd>
          <dt>Caused by</dt>
          <dd>
            ${
              cause
                ? html`<a href="${messageHref(cause)}">${cause.type}</a> in ${cause.streamName}
                    (#${cause.globalPosition})`
                : typeof causePosition === 'number'
                  ? html`#${causePosition} <span class="muted">(not stored)</span>`
                  : html`<span class="muted">nothing recorded</span>`
            }
          </dd>
        </dl>
      </section>
      <section class="card">
        <h2>Data</h2>
        ${pretty(message.data)}
        <h2>Metadata</h2>
        ${pretty(message.metadata)}
      </section>
      <section class="card">
        <h2>What it caused</h2>
        ${messageTable(effects, traceId ? 'Nothing in its trace names it as its cause.' : 'It has no trace to look in.')}
      </section>`,
  );
}

// ---------- Traces ----------

interface TraceNode {
  message: StoredMessage;
  effects: TraceNode[];
}

/**
 * A trace's messages as a tree of causes and effects: each message under the one that caused it
 * (metadata `causationMessageGlobalPosition`), siblings in the order they were written. A message
 * whose cause is not in the trace starts a tree of its own.
 */
export function causationTree(messages: StoredMessage[]): TraceNode[] {
  const sorted = [...messages].sort((a, b) => a.globalPosition - b.globalPosition);
  const nodes = new Map(sorted.map((message) => [message.globalPosition, { message, effects: [] as TraceNode[] }]));
  const roots: TraceNode[] = [];
  for (const node of nodes.values()) {
    const causePosition = node.message.metadata.causationMessageGlobalPosition;
    const cause = typeof causePosition === 'number' ? nodes.get(causePosition) : undefined;
    if (cause && cause !== node) cause.effects.push(node);
    else roots.push(node);
  }
  return roots;
}

function traceItem(node: TraceNode, cause: StoredMessage | null): SafeHtml {
  const { message } = node;
  return html`<li id="m-${message.globalPosition}" data-global-position="${message.globalPosition}">
    <div class="timeline-entry">
      <span class="timeline-time">${when(message.time)}</span>
      <a href="${messageHref(message)}" class="timeline-type">${message.type}</a>
      <a href="${streamHref(message.streamName)}" class="muted">${message.streamName}</a>
      <span class="muted">#${message.globalPosition}</span>
      ${
        cause
          ? html`<span class="caused-by"
              >caused by <a href="#m-${cause.globalPosition}">${cause.type} #${cause.globalPosition}</a></span
            >`
          : ''
      }
    </div>
    ${
      node.effects.length > 0
        ? html`<ol class="timeline">
            ${node.effects.map((effect) => traceItem(effect, message))}
          </ol>`
        : ''
    }
  </li>`;
}

export function tracePage(traceId: string, messages: StoredMessage[], truncated: boolean) {
  return adminPage(
    'messages',
    'Trace',
    html`<p><a href="/admin/messages">← Messages</a></p>
      <section class="card">
        <h1>Trace <code class="reference">${traceId}</code></h1>
        <p class="muted">
          ${count(messages.length)} ${messages.length === 1 ? 'message' : 'messages'} written for one request, each
          under the message that caused it.
        </p>
        ${truncated ? html`<div class="alert error" role="alert">Only the first ${count(messages.length)} are shown.</div>` : ''}
        <ol class="timeline">
          ${causationTree(messages).map((node) => traceItem(node, null))}
        </ol>
      </section>`,
  );
}

// ---------- Streams and categories ----------

export function streamsPage(view: {
  streams: StreamSummary[];
  category: string;
  categories: CategorySummary[];
  /** The page's scan window ran out at these global positions before the page was full. */
  scanned?: { newest: number; oldest: number } | undefined;
  /** How many messages a page scans at most. */
  scanWindow: number;
  older?: string | undefined;
  newest?: string | undefined;
}) {
  return adminPage(
    'streams',
    'Streams',
    html`<h1>Streams</h1>
      <form method="get" action="/admin/streams" class="filters">
        <label
          >Category
          <select name="category">
            <option value="">All categories</option>
            ${view.categories.map(
              (category) =>
                html`<option value="${category.category}" ${category.category === view.category ? html`selected` : ''}>
                  ${category.category}
                </option>`,
            )}
          </select>
        </label>
        <button type="submit" class="small">Filter</button>
      </form>
      ${table(
        html`<tr>
          <th scope="col">Stream</th>
          <th scope="col" class="number">Messages</th>
          <th scope="col">Last message</th>
          <th scope="col">Written</th>
        </tr>`,
        view.streams.map(
          (stream) =>
            html`<tr>
              <td><a href="${streamHref(stream.streamName)}">${stream.streamName}</a></td>
              <td class="number">${count(stream.messageCount)}</td>
              <td>${stream.lastType}</td>
              <td class="nowrap">${when(stream.lastTime)}</td>
            </tr>`,
        ),
        view.scanned ? 'No stream was last written in the messages scanned.' : 'No streams here.',
      )}
      ${
        view.scanned
          ? html`<p class="muted" data-scanned>
              No more streams last written in global positions
              ${count(view.scanned.oldest)}–${count(view.scanned.newest)} (a page scans ${count(view.scanWindow)}
              messages at most): Older goes on from there.
            </p>`
          : ''
      }
      ${pager({ newest: view.newest, older: view.older })}`,
  );
}

export function streamPage(view: {
  streamName: string;
  summary: StreamSummary | null;
  messages: StoredMessage[];
  pages: { newest?: string | undefined; older?: string | undefined };
}) {
  const categoryName = view.streamName.split('-')[0] ?? view.streamName;
  return adminPage(
    'streams',
    view.streamName,
    html`<p><a href="/admin/streams">← Streams</a></p>
      <section class="card">
        <h1><code class="reference">${view.streamName}</code></h1>
        <p class="muted">
          Category <a href="/admin/messages${query({ category: categoryName })}">${categoryName}</a>${
            view.summary
              ? html` · ${count(view.summary.messageCount)} ${view.summary.messageCount === 1 ? 'message' : 'messages'},
                last written ${when(view.summary.lastTime)}`
              : ''
          }
        </p>
        ${messageTable(view.messages, 'No messages.', { showStream: false })} ${pager(view.pages)}
      </section>`,
  );
}

export function categoriesPage(categories: CategorySummary[]) {
  return adminPage(
    'categories',
    'Categories',
    html`<h1>Categories</h1>
      ${table(
        html`<tr>
          <th scope="col">Category</th>
          <th scope="col" class="number">Streams</th>
          <th scope="col" class="number">Messages</th>
          <th scope="col">Types</th>
          <th scope="col">Last written</th>
        </tr>`,
        categories.map(
          (category) =>
            html`<tr>
              <td><a href="/admin/messages${query({ category: category.category })}">${category.category}</a></td>
              <td class="number">
                <a href="/admin/streams${query({ category: category.category })}">${count(category.streamCount)}</a>
              </td>
              <td class="number">${count(category.messageCount)}</td>
              <td>
                <ul class="type-list">
                  ${category.types.map(
                    (type) =>
                      html`<li>
                        <a href="/admin/messages${query({ category: category.category, type: type.type })}"
                          >${type.type}</a
                        >
                        <span class="muted">${count(type.messageCount)}</span>
                      </li>`,
                  )}
                </ul>
              </td>
              <td class="nowrap">${when(category.lastTime)}</td>
            </tr>`,
        ),
        'No messages yet.',
      )}`,
  );
}

// ---------- Refusals ----------

export function notFoundPage(what: string) {
  return adminPage(
    'health',
    'Not found',
    html`<div class="card narrow">
      <h1>Not found</h1>
      <p class="muted">${what}</p>
      <a class="button" href="/admin">Back to the admin portal</a>
    </div>`,
  );
}

export function badRequestPage() {
  return adminPage(
    'health',
    'Cannot show that',
    html`<div class="card narrow">
      <h1>Cannot show that</h1>
      <div class="alert error" role="alert">The address asks for a page that cannot be shown.</div>
      <a class="button" href="/admin">Back to the admin portal</a>
    </div>`,
  );
}
