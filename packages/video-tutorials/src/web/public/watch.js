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
