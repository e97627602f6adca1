// The benches overview: each bench's card is re-read from the daemon when an event says it changed.
'use strict';
(() => {
  const refresh = async (benchId) => {
    const card = document.querySelector(`section.bench[data-bench="${CSS.escape(benchId)}"]`);
    if (!card) return;
    const res = await fetch(`/benches/${encodeURIComponent(benchId)}/card`, { headers: { 'x-mpocert-card-link': '1' } });
    if (res.ok) card.outerHTML = await res.text();
  };
  const all = () => document.querySelectorAll('section.bench').forEach((s) => refresh(s.dataset.bench));
  const events = new EventSource('/events');
  for (const type of ['job', 'step', 'reference']) events.addEventListener(type, (e) => refresh(JSON.parse(e.data).benchId));
  // Instruments going on- or offline raise no event: a slow poll keeps the cards honest.
  setInterval(all, 10_000);
})();
