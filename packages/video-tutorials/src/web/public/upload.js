// The upload form, with a script: a file can be dropped onto it, and it is sent in the background with its progress
// shown (percentage and bytes); a refusal (too large, the quota, not a video) is written beside the field, the
// server's sentence. Without the script, the form posts as it is.
(() => {
  const form = document.querySelector('form[data-upload]');
  if (!form || !('FormData' in window)) return;
  const input = form.querySelector('input[type="file"]');
  const zone = form.querySelector('[data-drop-zone]');
  const hint = form.querySelector('[data-drop-hint]');
  const error = form.querySelector('[data-upload-error]');
  const progress = form.querySelector('[data-upload-progress]');
  const bar = progress.querySelector('progress');
  const text = progress.querySelector('[data-upload-progress-text]');
  const button = form.querySelector('button[type="submit"]');
  const maxBytes = Number(form.dataset.maxBytes);

  const size = (bytes) =>
    bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
  const fail = (message) => {
    error.textContent = message;
    error.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', `${error.id} ${input.id}-hint`);
  };
  const clear = () => {
    error.hidden = true;
    error.textContent = '';
    input.removeAttribute('aria-invalid');
  };

  // Dropping a file onto the zone chooses it, as the file picker would.
  hint.hidden = false;
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('dragging');
    const files = event.dataTransfer && event.dataTransfer.files;
    if (!files || files.length === 0) return;
    input.files = files;
    input.dispatchEvent(new Event('change', { bubbles: true }));
  });
  input.addEventListener('change', () => {
    clear();
    const file = input.files[0];
    hint.textContent = file ? `Chosen: ${file.name} (${size(file.size)})` : 'or drop a video file here';
  });

  form.addEventListener('submit', (event) => {
    const file = input.files[0];
    if (!file) return; // the browser says a file is required
    event.preventDefault();
    clear();
    if (file.size > maxBytes) return fail(form.dataset.tooLarge);
    const request = new XMLHttpRequest();
    request.open('POST', form.action);
    request.setRequestHeader('accept', 'application/json');
    request.upload.addEventListener('progress', (progressEvent) => {
      if (!progressEvent.lengthComputable) return;
      const percent = Math.floor((progressEvent.loaded / progressEvent.total) * 100);
      bar.value = percent;
      text.textContent = `${percent}% — ${size(progressEvent.loaded)} of ${size(progressEvent.total)}`;
    });
    const done = () => {
      button.disabled = false;
      progress.hidden = true;
    };
    request.addEventListener('load', () => {
      let answer = {};
      try {
        answer = JSON.parse(request.responseText);
      } catch {
        // not JSON: an error page (an expired form…)
      }
      if (request.status === 201 && answer.location) {
        bar.value = 100;
        text.textContent = `100% — ${size(file.size)} of ${size(file.size)}. Opening your video…`;
        return window.location.assign(answer.location);
      }
      done();
      fail(answer.message || form.dataset.failed);
    });
    request.addEventListener('error', () => {
      done();
      fail(form.dataset.failed);
    });
    button.disabled = true;
    bar.value = 0;
    text.textContent = `0% — 0 KB of ${size(file.size)}`;
    progress.hidden = false;
    request.send(new FormData(form));
  });
})();
