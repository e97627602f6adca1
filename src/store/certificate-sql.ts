/**
 * What a list, a filter or a chain lookup knows of a certificate is read from its signed body
 * (the stored canonical JSON), never from a separate column: editing a column then changes
 * nothing anyone sees, and editing the body breaks the certificate's hash and signature, which
 * verification reports. SQLite keeps each expression in an index (migration 4, database.ts), so
 * reading it costs an index lookup, not a parse of the 20 kB body.
 *
 * These texts are part of the schema: an index is only used for a query whose expression is
 * identical. Never edit one; add a migration with new ones (a test pins the query plans).
 */
/**
 * A field of the signed body, NULL when the body is not JSON at all: a body replaced by garbage
 * (outside mpocert) must not make every list and chain lookup fail with "malformed JSON";
 * verification reports that row, and the rest stays readable.
 */
const field = (path: string): string => `CASE WHEN json_valid(body) THEN json_extract(body, '${path}') END`;

export const BODY = {
  verdict: field('$.verdict'),
  issuedAt: field('$.issuedAt'),
  benchId: field('$.bench.id'),
  subjectKind: field('$.subject.kind'),
  subjectId: field('$.subject.id'),
  limitSetId: field('$.limitSet.id'),
  limitSetVersion: field('$.limitSet.version'),
  jobId: field('$.job.id'),
  /** The installer's project the certificate was measured for (absent for factory certificates). */
  projectId: field('$.project.id'),
} as const;

/** A list item, from the body (id and uuid are the row's own, covered by the signature). */
export const LIST_ITEM_JSON = `json_object('id', id, 'uuid', uuid, 'benchId', ${BODY.benchId}, 'subjectKind', ${BODY.subjectKind},
  'serial', CASE ${BODY.subjectKind} WHEN 'assembly' THEN ${BODY.subjectId} END,
  'linkId', CASE ${BODY.subjectKind} WHEN 'link' THEN ${BODY.subjectId} END,
  'verdict', ${BODY.verdict}, 'limitSetId', ${BODY.limitSetId}, 'limitSetVersion', ${BODY.limitSetVersion},
  'issuedAt', ${BODY.issuedAt})`;

/**
 * A list item with the certificate's project (null when it names none), for pages that show it
 * (the QA search). Kept apart from LIST_ITEM_JSON, whose text an index stores: the project is not
 * in that covering index, so this reads each listed certificate's body (about 15 us at 20 kB, 0.7 ms
 * for a page of 50, measured), which GET /certificates' verdict-and-dates list must not pay.
 */
export const LIST_ITEM_WITH_PROJECT_JSON = `json_insert(${LIST_ITEM_JSON}, '$.projectId', ${BODY.projectId})`;

/**
 * The indexes migration 4 creates over the body expressions. `hash` rides along in the bench
 * index and has its own: a row is ~40 kB with the hash stored after the body, so reading a hash
 * from the table reads the body's overflow pages (a chain lookup, or the start-up comparison of
 * every checkpoint, would read the whole table).
 */
export const BODY_INDEXES = `
  CREATE INDEX certificates_list_verdict ON certificates (${BODY.verdict}, ${BODY.issuedAt}, id, ${LIST_ITEM_JSON});
  CREATE INDEX certificates_body_issued ON certificates (${BODY.issuedAt}, id);
  CREATE INDEX certificates_body_subject ON certificates (${BODY.subjectId}, id);
  CREATE INDEX certificates_body_bench ON certificates (${BODY.benchId}, id, hash);
  CREATE INDEX certificates_hash ON certificates (hash);
`;
