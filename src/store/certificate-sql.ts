/**
 * The SQL a list, a filter or a chain lookup runs, for the two layouts of the certificates table.
 *
 * Since migration 10 (database.ts) a body is stored compressed (compact-body.ts) and SQL cannot
 * read inside it: lists, filters and chain lookups read the row's columns (COLUMN_SQL), through
 * plain indexes. A column is not trusted for being there: verification compares every column with
 * the signed body (certificate-store.ts, verifyRow), so a column edited outside mpocert makes its
 * certificate fail, a failing certificate is never rendered from its content, and lists mark it
 * `"integrity": "FAILED"`; a served certificate is verified from its body.
 *
 * Before migration 10 the body was stored as canonical JSON and every field was read from it
 * through expression indexes (BODY_SQL and the constants below). A database of that schema is
 * still read as it is (QA's `mpocert verify` on a copy, strictly read-only), so those texts stay.
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
export const BODY_LIST_ITEM_JSON = `json_object('id', id, 'uuid', uuid, 'benchId', ${BODY.benchId}, 'subjectKind', ${BODY.subjectKind},
  'serial', CASE ${BODY.subjectKind} WHEN 'assembly' THEN ${BODY.subjectId} END,
  'linkId', CASE ${BODY.subjectKind} WHEN 'link' THEN ${BODY.subjectId} END,
  'verdict', ${BODY.verdict}, 'limitSetId', ${BODY.limitSetId}, 'limitSetVersion', ${BODY.limitSetVersion},
  'issuedAt', ${BODY.issuedAt})`;

/** A list item with the certificate's project (null when it names none), from the body. */
export const BODY_LIST_ITEM_WITH_PROJECT_JSON = `json_insert(${BODY_LIST_ITEM_JSON}, '$.projectId', ${BODY.projectId})`;

/**
 * The indexes migration 4 created over the body expressions (migration 10 replaced them). `hash`
 * rode along in the bench index and had its own: a row was ~40 kB with the hash stored after the
 * body, so reading a hash from the table read the body's overflow pages.
 */
export const BODY_INDEXES = `
  CREATE INDEX certificates_list_verdict ON certificates (${BODY.verdict}, ${BODY.issuedAt}, id, ${BODY_LIST_ITEM_JSON});
  CREATE INDEX certificates_body_issued ON certificates (${BODY.issuedAt}, id);
  CREATE INDEX certificates_body_subject ON certificates (${BODY.subjectId}, id);
  CREATE INDEX certificates_body_bench ON certificates (${BODY.benchId}, id, hash);
  CREATE INDEX certificates_hash ON certificates (hash);
`;

/** The SQL of one layout of the certificates table. */
export interface CertificateSql {
  /** A filter's WHERE term, with its named parameter. */
  readonly where: {
    readonly serial: string;
    readonly linkId: string;
    readonly verdict: string;
    readonly benchId: string;
    readonly limitSetId: string;
    readonly projectId: string;
    readonly issuedFrom: string;
    readonly issuedTo: string;
  };
  /** The issue time, as lists order by it. */
  readonly issuedAt: string;
  /** The bench, as chain lookups and checkpoint counts select by it. */
  readonly benchId: string;
  /** A list item as JSON (id and uuid are the row's own, covered by the signature). */
  readonly listItem: string;
  /** A list item with the certificate's project (`projectId`, null when it names none). */
  readonly listItemWithProject: string;
}

/** Lists, filters and chains of a database before migration 10: fields read from the JSON body. */
export const BODY_SQL: CertificateSql = {
  where: {
    serial: `${BODY.subjectId} = @serial AND ${BODY.subjectKind} = 'assembly'`,
    linkId: `${BODY.subjectId} = @linkId AND ${BODY.subjectKind} = 'link'`,
    verdict: `${BODY.verdict} = @verdict`,
    benchId: `${BODY.benchId} = @benchId`,
    limitSetId: `${BODY.limitSetId} = @limitSetId`,
    projectId: `${BODY.projectId} = @projectId`,
    issuedFrom: `${BODY.issuedAt} >= @issuedFrom`,
    issuedTo: `${BODY.issuedAt} < @issuedTo`,
  },
  issuedAt: BODY.issuedAt,
  benchId: BODY.benchId,
  listItem: BODY_LIST_ITEM_JSON,
  listItemWithProject: BODY_LIST_ITEM_WITH_PROJECT_JSON,
};

/**
 * A list item from the row's columns. Every column it names is in certificates_list (migration
 * 10), so QA's list of a verdict over a date range, its items and its count, is answered from
 * that index alone, in page order; the project is in it too (one byte for a certificate without).
 */
export const LIST_ITEM_JSON = `json_object('id', id, 'uuid', uuid, 'benchId', bench_id, 'subjectKind', subject_kind,
  'serial', serial, 'linkId', link_id, 'verdict', verdict, 'limitSetId', limit_set_id, 'limitSetVersion', limit_set_version,
  'issuedAt', issued_at)`;

/** A list item with the certificate's project (null when it names none): for the QA search. */
export const LIST_ITEM_WITH_PROJECT_JSON = `json_object('id', id, 'uuid', uuid, 'benchId', bench_id, 'subjectKind', subject_kind,
  'serial', serial, 'linkId', link_id, 'verdict', verdict, 'limitSetId', limit_set_id, 'limitSetVersion', limit_set_version,
  'issuedAt', issued_at, 'projectId', project_id)`;

/**
 * Lists, filters and chains since migration 10: the row's columns, which verification compares
 * with the signed body. A serial is only ever in an assembly's row and a link id in a link's
 * (insert refuses anything else, verification reports it), so neither filter repeats the kind.
 */
export const COLUMN_SQL: CertificateSql = {
  where: {
    serial: 'serial = @serial',
    linkId: 'link_id = @linkId',
    verdict: 'verdict = @verdict',
    benchId: 'bench_id = @benchId',
    limitSetId: 'limit_set_id = @limitSetId',
    projectId: 'project_id = @projectId',
    issuedFrom: 'issued_at >= @issuedFrom',
    issuedTo: 'issued_at < @issuedTo',
  },
  issuedAt: 'issued_at',
  benchId: 'bench_id',
  listItem: LIST_ITEM_JSON,
  listItemWithProject: LIST_ITEM_WITH_PROJECT_JSON,
};
