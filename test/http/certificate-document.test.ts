import { describe, expectTypeOf, it } from 'vitest';
import type { InstrumentIdentity } from '../../src/instruments/capabilities.js';
import type { JobSubject } from '../../src/jobs/judge-job.js';
import type { BenchReference, FiberReading } from '../../src/pipeline/readings.js';
import type { SOFTWARE } from '../../src/pipeline/software.js';
import type { CertificateDocument, CertifiedInstrument, CertifiedReading } from '../../src/store/certificate-store.js';

/**
 * The stored certificate document is declared in the store (CertificateDocument), apart from the
 * pipeline's in-memory types the job runner writes it from: these checks (made by the type
 * checker, `npm run typecheck`) fail when what the pipeline writes no longer fits what the
 * readers (the HTML and CSV renderers, drift) are typed to read.
 */
describe('the certificate document type', () => {
  it('holds what the job runner writes into it', () => {
    expectTypeOf<FiberReading>().toExtend<CertifiedReading>();
    expectTypeOf<InstrumentIdentity>().toExtend<CertifiedInstrument>();
    expectTypeOf<typeof SOFTWARE>().toExtend<CertificateDocument['software']>();
    expectTypeOf<Pick<BenchReference, 'takenAt' | 'powerDbm' | 'instruments' | 'acceptedDespite'>>().toExtend<CertificateDocument['reference']>();
    expectTypeOf<JobSubject['template']>().toExtend<CertificateDocument['subject']['description']>();
    expectTypeOf<JobSubject['kind']>().toExtend<CertificateDocument['subject']['kind']>();
    expectTypeOf<CertificateDocument>().toExtend<Record<string, unknown>>();
  });
});
