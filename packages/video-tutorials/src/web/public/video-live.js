// A video's page in the creators portal, kept up to date in place: its status, poster or player, name and
// description, and the owner's choices (publish, unlist, delete) arrive from the server (server-sent events; asked
// for every few seconds where EventSource is missing or refused), and its forms are sent in the background, their
// outcome written beside them. Nothing reloads the page and nothing touches a field being typed into.
(() => {
  const root = document.querySelector('[data-live-video]');
  if (!root) return;
  const videoId = root.dataset.liveVideo;
  const base = `/creators-portal/videos/${videoId}`;
  const csrf = document.querySelector('form[data-live-form] input[name="_csrf"]')?.value || '';
  const ask = (query) =>
    fetch(`${base}/status${query}`, { headers: { accept: 'application/json' }, credentials: 'same-origin' });

  // Just uploaded, not in the portal's View Data yet: this page has nothing to lose, so open the video's page.
  if (root.dataset.videoStatus === 'absent') {
    const check = () =>
      ask('')
        .then((response) => (response.ok ? response.json() : { status: 'absent' }))
        .then(({ status }) => (status === 'absent' ? setTimeout(check, 1000) : window.location.replace(base)))
        .catch(() => setTimeout(check, 5000));
    setTimeout(check, 1000);
    return;
  }

  /** The forms waiting for an outcome, by the trace id of their request. */
  const awaiting = new Map();
  const query = () => (awaiting.size ? `?${[...awaiting.keys()].map((id) => `awaiting=${id}`).join('&')}` : '');

  const apply = (state) => {
    if (!state || !state.parts) return;
    const suffix = document.title.includes(' · ') ? document.title.slice(document.title.indexOf(' · ')) : '';
    document.title = `${state.title}${suffix}`;
    root.dataset.videoStatus = state.status;
    for (const [name, part] of Object.entries(state.parts)) {
      const element = root.querySelector(`[data-live-part="${name}"]`);
      if (!element || element.dataset.liveHash === part.hash) continue;
      element.innerHTML = part.html; // the server's markup, escaped as on the page
      element.dataset.liveHash = part.hash;
      // Forms arrive without the page's CSRF token (the owner's choices): it is this page's, so put it in.
      for (const input of element.querySelectorAll('input[name="_csrf"]')) if (!input.value) input.value = csrf;
    }
    for (const outcome of state.outcomes || []) settle(outcome);
  };

  const say = (form, kind, text) => {
    const message = form.querySelector('[id$="-message"]');
    const field = form.querySelector('input[type="text"], textarea');
    message.className = kind === 'error' ? 'field-error' : kind === 'saved' ? 'form-status ok' : 'form-status';
    message.textContent = text;
    if (kind === 'error') field.setAttribute('aria-invalid', 'true');
    else field.removeAttribute('aria-invalid');
  };

  const settle = ({ traceId, succeeded, message }) => {
    const form = awaiting.get(traceId);
    if (!form) return;
    awaiting.delete(traceId);
    form.querySelector('button[type="submit"]').disabled = false;
    say(form, succeeded ? 'saved' : 'error', succeeded ? form.dataset.saved : message);
  };

  // Server-sent events, or asking every few seconds where EventSource is missing or the stream is refused.
  let events = null;
  let polling = !('EventSource' in window);
  let pollTimer = null;
  const poll = (delay) => {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(() => {
      ask(query())
        .then((response) => {
          if (response.status === 404) return null; // not (or no longer) the user's video: stop asking
          if (!response.ok) throw new Error(String(response.status));
          return response.json().then((state) => {
            apply(state);
            poll(awaiting.size ? 1000 : 3000);
          });
        })
        .catch(() => poll(10000));
    }, delay);
  };
  const listen = () => {
    if (polling) return poll(awaiting.size ? 500 : 3000);
    if (events) events.close();
    events = new EventSource(`${base}/events${query()}`);
    events.addEventListener('video', (event) => apply(JSON.parse(event.data)));
    events.addEventListener('outcome', (event) => settle(JSON.parse(event.data)));
    events.onerror = () => {
      // An ended stream is opened again by the browser; a refused one (an error status) is not: ask instead.
      if (events.readyState !== EventSource.CLOSED) return;
      events = null;
      polling = true;
      poll(3000);
    };
  };

  for (const form of document.querySelectorAll('form[data-live-form]')) {
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      say(form, 'saving', 'Saving…');
      fetch(form.action, {
        method: 'POST',
        body: new URLSearchParams(new FormData(form)),
        headers: { accept: 'application/json' },
        credentials: 'same-origin',
      })
        .then((response) =>
          response
            .json()
            .catch(() => ({}))
            .then((answer) => {
              if (response.status === 202 && answer.traceId) {
                awaiting.set(answer.traceId, form);
                return listen();
              }
              button.disabled = false;
              say(form, 'error', answer.message || form.dataset.failed);
            }),
        )
        .catch(() => {
          button.disabled = false;
          say(form, 'error', form.dataset.failed);
        });
    });
  }
  listen();
})();
