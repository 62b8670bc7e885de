// The watch page's timestamped transcript: a line plays the video from its time, in place. Without this script
// each line is still a link to the page with ?t= (the video then starts there). The line being said is marked.
(() => {
  const player = document.querySelector('video[data-video-id]');
  const transcript = document.querySelector('[data-transcript]');
  if (!player || !transcript) return;
  const lines = [...transcript.querySelectorAll('a[data-seek]')];

  transcript.addEventListener('click', (event) => {
    const line = event.target instanceof window.Element ? event.target.closest('a[data-seek]') : null;
    // A click meant for a new tab or window goes to the link.
    if (!line || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const time = Number(line.dataset.seek);
    if (!Number.isFinite(time)) return;
    event.preventDefault();
    player.currentTime = time;
    window.history.replaceState(null, '', line.href);
    const playing = player.play();
    if (playing) playing.catch(() => {});
  });

  let current = null;
  player.addEventListener('timeupdate', () => {
    const now = player.currentTime;
    let said = null;
    for (const line of lines) {
      if (Number(line.dataset.seek) > now) break;
      said = line;
    }
    if (said === current) return;
    current?.removeAttribute('aria-current');
    said?.setAttribute('aria-current', 'true');
    current = said;
  });
})();
