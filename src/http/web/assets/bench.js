// The bench page: scan to certify, confirm each physical step, live progress, the verdict.
// Keyboard alone: the scan field keeps the focus; a barcode scanner types the serial and Enter.
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const m = window.mpocert;
  const benchId = decodeURIComponent(location.pathname.split('/')[2] || '');
  const scan = $('scan');
  const form = $('scan-form');
  if (!scan || !form) return;
  const projectChip = $('project');
  const project = projectChip ? projectChip.dataset.project : undefined;
  const state = { job: null, waiting: null, countdown: null, audio: null };

  // The scan field always has the focus unless the person chose another control on purpose.
  const refocus = () => {
    const a = document.activeElement;
    if (!a || a === document.body || a === scan) scan.focus();
  };
  scan.addEventListener('blur', () => setTimeout(refocus, 0));
  setInterval(refocus, 1000);
  scan.focus();

  function cue(kind) {
    // A short high tone for PASS, three low ones for anything else: heard across the bench.
    document.body.dataset.cue = kind;
    try {
      state.audio = state.audio || new AudioContext();
      const ctx = state.audio;
      const tones = kind === 'PASS' ? [[880, 0]] : [[220, 0], [220, 0.3], [220, 0.6]];
      for (const [hz, at] of tones) {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.frequency.value = hz;
        gain.gain.value = 0.2;
        osc.connect(gain).connect(ctx.destination);
        osc.start(ctx.currentTime + at);
        osc.stop(ctx.currentTime + at + 0.2);
      }
    } catch {
      // No audio device: the verdict is on screen anyway.
    }
  }

  async function refreshFragments() {
    try {
      const [card, recent] = await Promise.all([
        fetch(`/benches/${encodeURIComponent(benchId)}/card`).then((r) => r.text()),
        fetch(`/benches/${encodeURIComponent(benchId)}/recent`).then((r) => r.text()),
      ]);
      $('bench-state').innerHTML = card;
      $('recent').innerHTML = recent;
    } catch {
      // The event stream reports a lost daemon.
    }
  }

  const scanLabel = () => {
    const chosen = $('product').selectedOptions[0];
    return chosen && chosen.dataset.kind === 'link' ? 'Scan the link id (or type it) and press Enter' : 'Scan the serial (or type it) and press Enter';
  };
  $('product').addEventListener('change', () => {
    if (!state.waiting) $('scan-label').textContent = scanLabel();
    scan.focus();
  });
  $('scan-label').textContent = scanLabel();

  function showPrompt(step) {
    state.waiting = step;
    clearInterval(state.countdown);
    const box = $('prompt');
    if (!step) {
      box.hidden = true;
      $('scan-label').textContent = scanLabel();
      return;
    }
    $('prompt-text').textContent = step.confirmSerial ? `${step.instruction}. Then scan ${step.confirmSerial} again.` : `${step.instruction}. Then press Enter.`;
    $('confirm-btn').hidden = Boolean(step.confirmSerial);
    $('scan-label').textContent = step.confirmSerial ? `Scan ${step.confirmSerial} again to confirm` : 'Press Enter when done';
    box.hidden = false;
    const until = Date.parse(step.since) + step.timeoutS * 1000;
    const tick = () => {
      const left = Math.max(0, Math.round((until - Date.now()) / 1000));
      $('countdown').textContent = `the bench waits ${left} s more`;
    };
    tick();
    state.countdown = setInterval(tick, 1000);
    scan.focus();
  }

  function clearGrid() {
    for (const td of document.querySelectorAll('#grid td')) {
      td.textContent = '';
      td.className = '';
    }
  }

  const STEP_WORDS = {
    queued: 'queued', setup: 'checking the instruments', 'reference-check': 'checking the reference', 'present-dut': 'waiting for the assembly',
    measure: 'measuring', 'turn-assembly': 'waiting for the assembly to be turned', evaluate: 'judging', store: 'signing and storing', done: 'done', aborted: 'aborted',
  };

  async function onJob(ev) {
    if (ev.state === 'running') state.job = ev.id;
    if (ev.id !== state.job) return;
    for (const td of document.querySelectorAll('#grid td.now')) td.classList.remove('now');
    const r = ev.reading;
    if (r) {
      const cell = $(`cell-${r.fiber}-${r.end}-${r.wavelengthNm}`);
      if (cell) {
        cell.textContent = r.lossDb === null ? (r.condition || 'no light') : r.lossDb.toFixed(2);
        cell.className = 'done';
      }
    }
    if (ev.state === 'running' && ev.fiber !== null && ev.end !== null) {
      const now = $(`cell-${ev.fiber}-${ev.end}-${ev.wavelengthNm}`);
      if (now && !now.textContent) now.className = 'now';
    }
    const where = ev.state === 'running' && ev.step === 'measure' && ev.fiber !== null ? `: end ${ev.end}, fiber ${ev.fiber} at ${ev.wavelengthNm} nm` : '';
    $('progress-line').textContent = `Job ${ev.id.slice(0, 8)}: ${STEP_WORDS[ev.step] || ev.step}${where} (${ev.readings} readings)`;
    if (ev.state === 'completed') {
      state.job = null;
      const res = await fetch(`/certificates/${ev.certificateId}/verdict`);
      $('verdict-area').innerHTML = await res.text();
      // The failing readings in the grid too: where on the assembly the problem is.
      for (const tr of document.querySelectorAll('#failures tbody tr')) {
        const [fiber, end, wl] = [...tr.children].map((td) => td.textContent);
        const cell = $(`cell-${fiber}-${end}-${wl}`);
        if (cell) cell.className = 'bad';
      }
      const shown = $('verdict-area').querySelector('[data-verdict]');
      cue(shown ? shown.dataset.verdict : ev.verdict);
      refreshFragments();
    } else if (ev.state === 'aborted' || ev.state === 'interrupted') {
      state.job = null;
      $('verdict-area').innerHTML = `<div class="verdict ABORTED" data-verdict="ABORTED">ABORTED<small>no certificate: ${m.esc(ev.reason || ev.errorCode)}</small></div>`;
      cue('ABORTED');
      refreshFragments();
    }
  }

  async function confirm(step, serial) {
    try {
      await m.post(`/benches/${encodeURIComponent(benchId)}/confirm`, { step: step.id, ...(serial ? { serial } : {}) });
      m.notice('');
    } catch (err) {
      m.notice(err.message);
    }
  }

  async function start(value) {
    m.notice('');
    $('verdict-area').innerHTML = '';
    clearGrid();
    const chosen = $('product').selectedOptions[0];
    const kind = chosen && chosen.dataset.kind === 'link' ? 'linkId' : 'serial';
    try {
      const job = await m.post('/jobs', {
        bench: benchId,
        [kind]: value,
        ...(chosen ? { product: chosen.value } : {}),
        ...(project && kind === 'linkId' ? { project } : {}),
      });
      state.job = job.id;
      $('progress-line').textContent = `Job ${job.id.slice(0, 8)}: started for ${value}`;
    } catch (err) {
      m.notice(`${value} not started: ${err.message}`);
    }
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const value = scan.value.trim();
    scan.value = '';
    const step = state.waiting;
    if (step) {
      if (step.confirmSerial && !value) m.notice(`scan ${step.confirmSerial} to confirm: that proves the right assembly is on the bench`);
      else confirm(step, step.confirmSerial ? value : undefined);
      return;
    }
    if (!value) return;
    if (state.job) {
      m.notice(`the bench is still busy with job ${state.job.slice(0, 8)}: wait for its verdict`);
      return;
    }
    start(value);
  });
  $('confirm-btn').addEventListener('click', () => {
    if (state.waiting && !state.waiting.confirmSerial) confirm(state.waiting);
    scan.focus();
  });

  $('reference-btn').addEventListener('click', async () => {
    const btn = $('reference-btn');
    const out = $('reference-result');
    btn.disabled = true;
    out.innerHTML = '<p class="muted">Referencing…</p>';
    scan.focus();
    try {
      const ref = await m.post(`/benches/${encodeURIComponent(benchId)}/reference`);
      const wls = ref.wavelengthsNm;
      const rows = ref.powerDbm[String(wls[0])].map((_, i) => `<tr><th>${i + 1}</th>${wls.map((wl) => `<td>${Number(ref.powerDbm[String(wl)][i]).toFixed(2)}</td>`).join('')}</tr>`).join('');
      const cv = ref.cordVerification;
      out.innerHTML = `<p><span class="chip ok">accepted</span> every check passed; taken ${m.esc(ref.takenAt.slice(0, 19).replace('T', ' '))}</p>
${cv ? `<p>Launch cord ${m.esc(cv.cordId)} against ${m.esc(cv.against)}: max ${cv.maxLossDb === null ? 'no light' : `${Number(cv.maxLossDb).toFixed(2)} dB`}</p>` : ''}
<table id="reference-values"><thead><tr><th>Fiber</th>${wls.map((wl) => `<th>${wl} nm (dBm)</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table>`;
    } catch (err) {
      out.innerHTML = `<p><span class="chip bad">refused</span> ${m.esc(err.message)}</p>`;
    } finally {
      btn.disabled = false;
      refreshFragments();
      scan.focus();
    }
  });

  const events = new EventSource(`/events?bench=${encodeURIComponent(benchId)}`);
  events.addEventListener('step', (e) => showPrompt(JSON.parse(e.data).step));
  events.addEventListener('job', (e) => onJob(JSON.parse(e.data)));
  events.addEventListener('reference', () => refreshFragments());
  events.addEventListener('open', () => {
    if ($('notice').dataset.lost) {
      m.notice('');
      delete $('notice').dataset.lost;
    }
  });
  events.addEventListener('error', () => {
    m.notice('lost the connection to the daemon: reconnecting…');
    $('notice').dataset.lost = '1';
  });
})();
