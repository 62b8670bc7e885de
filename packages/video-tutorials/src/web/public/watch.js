// Records one viewing per playback started — not per seek or resume after a pause. Each playback
// spends the token the page (or the previous viewing's answer) gave it.
(() => {
  const player = document.querySelector('video[data-video-id]');
  if (!player) return;
  let counted = false;
  player.addEventListener('ended', () => (counted = false));
  player.addEventListener('play', () => {
    if (counted) return;
    counted = true;
    fetch(`/record-viewing/${player.dataset.videoId}`, {
      method: 'POST',
      headers: {
        'x-csrf-token': player.dataset.csrf,
        'x-playback-token': player.dataset.playbackToken,
        accept: 'application/json',
      },
      credentials: 'same-origin',
    })
      .then((response) => {
        const next = response.headers.get('x-playback-token');
        if (next) player.dataset.playbackToken = next;
      })
      .catch(() => (counted = false));
  });
})();

// The live view count: the page shows the count it was rendered with; while it is shown, this asks for the count
// every few seconds (less often after a failure) and writes it in place. A poll rather than an event stream:
// an open stream per watching tab would use up the browser's few connections to the site.
(() => {
  const count = document.querySelector('[data-view-count]');
  if (!count) return;
  const number = count.querySelector('[data-testid="view-count"]');
  const word = count.querySelector('[data-views-word]');
  const every = 5000;
  let wait = every;
  const ask = () => {
    if (document.visibilityState !== 'visible') return setTimeout(ask, every);
    fetch(`/videos/${count.dataset.viewCount}/view-count`, {
      headers: { accept: 'application/json' },
      credentials: 'same-origin',
    })
      .then((response) => (response.ok ? response.json() : Promise.reject(new Error(String(response.status)))))
      .then(({ viewCount }) => {
        if (typeof viewCount !== 'number') return;
        number.textContent = String(viewCount);
        word.textContent = viewCount === 1 ? 'view' : 'views';
        wait = every;
      })
      .catch(() => (wait = Math.min(wait * 2, 60_000)))
      .finally(() => setTimeout(ask, wait));
  };
  setTimeout(ask, every);
})();
