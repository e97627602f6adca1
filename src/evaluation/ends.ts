import type { End, TestRecord } from './record-schema.js';

/**
 * The ends a test certifies. An assembly: both, unless the record says one end is certified
 * elsewhere (and the certificate then says so). A link: the ends it was measured from.
 */
export function endsCertified(plan: Pick<TestRecord, 'kind' | 'endsMeasured'> & { readonly oneEndCertifiedElsewhere?: { readonly end: End } | undefined }): End[] {
  if (plan.kind === 'assembly') return (['A', 'B'] as const).filter((e) => e !== plan.oneEndCertifiedElsewhere?.end);
  return [...(plan.endsMeasured ?? ['A'])];
}

/** Every end judged: the ends certified and any other end the record measured. A missing reading there is INVALID. */
export function endsJudged(record: TestRecord): End[] {
  const ends = new Set<End>([...endsCertified(record), ...(record.endsMeasured ?? [])]);
  return (['A', 'B'] as const).filter((e) => ends.has(e));
}
