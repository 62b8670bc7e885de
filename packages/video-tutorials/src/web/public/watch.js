// Records one viewing per playback started — not per seek or resume after a pause.
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
      headers: { 'x-csrf-token': player.dataset.csrf, accept: 'application/json' },
      credentials: 'same-origin',
    }).catch(() => (counted = false));
  });
})();
