// A page showing a video being prepared: asks for its status in the background and reloads the page once, when
// the status is no longer the one shown. If something was typed into the page, a reload would lose it: the page
// then says that the video is ready instead.
(() => {
  const shown = document.querySelector('[data-video-status]');
  if (!shown) return;
  const { videoId, videoStatus } = shown.dataset;
  let typed = false;
  document.addEventListener('input', () => (typed = true));
  const check = () =>
    fetch(`/creators-portal/videos/${videoId}/status`, {
      headers: { accept: 'application/json' },
      credentials: 'same-origin',
    })
      .then((response) => (response.ok ? response.json() : { status: videoStatus }))
      .then(({ status }) => {
        if (status === videoStatus) return setTimeout(check, 2000);
        if (!typed) return window.location.reload();
        shown.textContent = 'Your video is ready. Reload the page to see it.';
      })
      .catch(() => setTimeout(check, 5000));
  setTimeout(check, 2000);
})();
