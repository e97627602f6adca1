// mpocert console: the installer's projects. Creates a project (with its cable schedule) and
// imports more links into one. The schedule is read from the chosen file, or from the text
// pasted; it goes to the daemon as it is (the daemon parses and checks every row).
'use strict';
(() => {
  /** The schedule a form holds: the chosen file's text, else the pasted text; '' when neither. */
  async function scheduleOf(form) {
    const file = form.elements.file.files[0];
    const pasted = form.elements.csv.value;
    if (file && pasted.trim() !== '') throw new Error('choose a file or paste the schedule, not both');
    if (file) return await file.text();
    return pasted.trim() === '' ? '' : pasted;
  }

  function fail(form, err) {
    window.mpocert.notice(err.message);
    // Back to the form, so a keyboard user fixes and submits again without hunting for it.
    const first = form.querySelector('input, textarea');
    if (first) first.focus();
  }

  document.addEventListener('DOMContentLoaded', () => {
    const create = document.getElementById('project-form');
    if (create) {
      create.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const button = create.querySelector('button[type=submit]');
        button.disabled = true;
        try {
          const csv = await scheduleOf(create);
          const id = create.elements.id.value.trim();
          const site = create.elements.site.value.trim();
          const reply = await window.mpocert.post('/projects', {
            id,
            title: create.elements.title.value.trim(),
            ...(site ? { site } : {}),
            ...(csv ? { csv } : {}),
          });
          const added = reply.imported ? reply.imported.added.length : 0;
          location.href = `/projects/${encodeURIComponent(id)}${reply.imported ? `?added=${added}&updated=0&unchanged=0` : ''}`;
        } catch (err) {
          button.disabled = false;
          fail(create, err);
        }
      });
    }

    const more = document.getElementById('import-form');
    if (more) {
      more.addEventListener('submit', async (ev) => {
        ev.preventDefault();
        const button = more.querySelector('button[type=submit]');
        button.disabled = true;
        try {
          const csv = await scheduleOf(more);
          if (!csv) throw new Error('choose the cable schedule file or paste it first');
          const id = more.dataset.project;
          // text/csv, not JSON: the same request a script would send (POST /projects/:id/links).
          const res = await fetch(`/projects/${encodeURIComponent(id)}/links`, {
            method: 'POST',
            credentials: 'same-origin',
            headers: { 'content-type': 'text/csv; charset=utf-8', 'x-mpocert-console': '1' },
            body: csv,
          });
          const data = await res.json().catch(() => ({}));
          if (!res.ok) throw new Error(data.message || `${res.status} ${res.statusText}`);
          location.href = `/projects/${encodeURIComponent(id)}?added=${data.added.length}&updated=${data.updated.length}&unchanged=${data.unchanged.length}`;
        } catch (err) {
          button.disabled = false;
          fail(more, err);
        }
      });
    }
  });
})();
