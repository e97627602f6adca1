/**
 * Draws QA's PDF export off the daemon's event loop (started by qa-pdf.ts, one per export). pdfkit
 * lays a document out synchronously, about 14 ms per certificate (measured): 500 certificates
 * drawn on the main thread would hold the daemon for 7 s, and a job measuring on a bench at that
 * moment would see its instrument's reply late and fail.
 */
import { parentPort } from 'node:worker_threads';
import type { Integrity, StoredCertificate } from '../store/certificate-store.js';
import { renderCertificatesPdf } from './pdf/certificate-pdf.js';

parentPort?.once('message', (items: { certificate: StoredCertificate; integrity: Integrity }[]) => {
  renderCertificatesPdf(items).then(
    (pdf) => parentPort?.postMessage({ pdf }),
    (err: unknown) => parentPort?.postMessage({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
