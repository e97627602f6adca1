// QA search: what needs the live daemon beyond the page itself. The search and the exports are
// plain GET forms and links (they work without this script); here: Verify on a row (GET
// /certificates/<id>/verify, the result shown in the row) and the selection count, which keeps
// the "export the ticked rows" buttons off while nothing is ticked.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  const form = document.getElementById('qa-selection');
  if (!form) return;
  const { esc } = window.mpocert;
  const boxes = () => [...form.querySelectorAll('tbody input[type=checkbox][name=ids]')];
  const all = document.getElementById('select-all');
  const count = document.getElementById('selected-count');
  const exportButtons = form.querySelectorAll('.selection-bar button');

  const update = () => {
    const ticked = boxes().filter((b) => b.checked).length;
    count.textContent = String(ticked);
    exportButtons.forEach((b) => (b.disabled = ticked === 0));
    all.checked = ticked > 0 && ticked === boxes().length;
    all.indeterminate = ticked > 0 && ticked < boxes().length;
  };
  all.addEventListener('change', () => {
    for (const b of boxes()) b.checked = all.checked;
    update();
  });
  form.addEventListener('change', update);
  // Back/forward restores ticks without events.
  window.addEventListener('pageshow', update);
  update();

  form.addEventListener('click', async (ev) => {
    const button = ev.target.closest('button.verify');
    if (!button) return;
    const id = button.dataset.id;
    const row = button.closest('tr');
    const cell = row.querySelector('.verification');
    button.disabled = true;
    cell.textContent = 'verifying…';
    try {
      const r = await window.mpocert.get(`/certificates/${encodeURIComponent(id)}/verify`);
      row.classList.toggle('failed', !r.valid);
      cell.innerHTML = r.valid
        ? `<span class="chip ok verify-result">valid</span> <span class="muted">verified just now</span>`
        : `<span class="chip bad verify-result">invalid</span><ul class="problems">${r.problems.map((p) => `<li>${esc(p.problem)}: ${esc(p.detail)}</li>`).join('')}</ul>`;
    } catch (err) {
      cell.innerHTML = `<span class="chip warn verify-result">not verified</span> <span class="muted">${esc(err.message)}</span>`;
    } finally {
      button.disabled = false;
    }
  });
});
