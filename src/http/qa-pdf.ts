import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Integrity, StoredCertificate } from '../store/certificate-store.js';
import { renderCertificatesPdf } from './pdf/certificate-pdf.js';

type Items = { certificate: StoredCertificate; integrity: Integrity }[];

const WORKER = new URL('./qa-pdf-worker.js', import.meta.url);

/** One export drawn at a time: each worker holds a whole document (a few MB) and a core. */
let queue: Promise<unknown> = Promise.resolve();

/**
 * One PDF of these certificates (certificate-pdf.ts draws it), laid out in a worker thread so the
 * daemon keeps serving and measuring meanwhile (qa-pdf-worker.ts says why). Run from the
 * TypeScript sources (in-process tests) there is no compiled worker: it is drawn here instead.
 */
export function renderExportPdf(items: Items): Promise<Buffer> {
  const run = (): Promise<Buffer> => (existsSync(fileURLToPath(WORKER)) ? inWorker(items) : renderCertificatesPdf(items));
  const result = queue.then(run, run);
  queue = result.catch(() => undefined);
  return result;
}

function inWorker(items: Items): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER);
    let settled = false;
    const settle = (f: () => void): void => {
      if (settled) return;
      settled = true;
      f();
      void worker.terminate();
    };
    worker.once('message', (m: { pdf?: Uint8Array; error?: string }) =>
      settle(() => (m.pdf ? resolve(Buffer.from(m.pdf.buffer, m.pdf.byteOffset, m.pdf.byteLength)) : reject(new Error(`drawing the PDF export failed: ${m.error ?? 'no reason given'}`)))),
    );
    worker.once('error', (err) => settle(() => reject(err)));
    worker.once('exit', (code) => settle(() => reject(new Error(`the PDF export worker exited (${code}) before it finished`))));
    worker.postMessage(items);
  });
}
