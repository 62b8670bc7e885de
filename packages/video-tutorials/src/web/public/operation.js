// Updates the operation page as soon as the server pushes the outcome.
(() => {
  const card = document.querySelector('[data-operation]');
  if (!card || !('EventSource' in window)) return;
  const events = new EventSource(`/creators-portal/operations/${card.dataset.operation}/events`);
  events.addEventListener('result', () => {
    events.close();
    window.location.reload();
  });
  events.onerror = () => {
    events.close();
    setTimeout(() => window.location.reload(), 2000);
  };
})();
