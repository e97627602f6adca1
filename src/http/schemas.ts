import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** Route schemas: fastify validates requests and serializes replies with them. */

export const ErrorReply = Type.Object({ error: Type.String(), message: Type.String() });

export const Health = Type.Object({ status: Type.Literal('ok') });

// Bounded: SQLite binds 64-bit integers; a larger id must be a 400, not a failed bind.
// Plain decimal, no leading zero, no sign, no hex: one spelling per certificate.
export const IdParam = Type.Object({ id: Type.String({ pattern: '^[1-9][0-9]{0,15}$', description: 'certificate id, decimal' }) });
export const JobIdParam = Type.Object({ id: Type.String({ format: 'uuid' }) });
export const BenchIdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const FormatQuery = Type.Object(
  { format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('html'), Type.Literal('csv'), Type.Literal('pdf')])) },
  { additionalProperties: false },
);

const IsoDate = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}([T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2})?)?$',
  description: 'ISO 8601 date or date-time (UTC)',
});

export const CertificateQuery = Type.Object(
  {
    serial: Type.Optional(Type.String({ maxLength: 128 })),
    linkId: Type.Optional(Type.String({ maxLength: 128 })),
    verdict: Type.Optional(Type.Union(['PASS', 'MARGINAL', 'FAIL', 'INVALID'].map((v) => Type.Literal(v)))),
    bench: Type.Optional(Type.String({ maxLength: 64 })),
    limitSet: Type.Optional(Type.String({ maxLength: 128 })),
    project: Type.Optional(Type.String({ maxLength: 128, description: "the installer's project the certificate names" })),
    from: Type.Optional(IsoDate),
    to: Type.Optional(IsoDate),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
    offset: Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 }),
  },
  { additionalProperties: false },
);
export type CertificateQueryT = Static<typeof CertificateQuery>;

// Read from the signed body: null only when a stored body is not JSON (it was altered).
const FromBody = Type.Union([Type.String(), Type.Null()]);
export const CertificateSummary = Type.Object({
  id: Type.Integer(),
  uuid: Type.String(),
  benchId: FromBody,
  subjectKind: FromBody,
  serial: FromBody,
  linkId: FromBody,
  verdict: FromBody,
  limitSetId: FromBody,
  limitSetVersion: FromBody,
  issuedAt: FromBody,
  integrity: Type.Optional(Type.Literal('FAILED', { description: 'present when this certificate is known to fail verification' })),
});

export const CertificateList = Type.Object({
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
  items: Type.Array(CertificateSummary),
});

/**
 * The response schema of a reply its handler sends as JSON text it built itself (GET
 * /certificates: the items come from SQLite as JSON). OpenAPI documents the shape; the type
 * provider derives no reply type from it, since the handler sends a string, not that object.
 */
export function sentAsText(schema: TSchema): unknown {
  return schema;
}

export const VerifyReply = Type.Object({
  id: Type.Integer(),
  valid: Type.Boolean(),
  problems: Type.Array(Type.Object({ certificateId: Type.Integer(), problem: Type.String(), detail: Type.String() })),
});

export const SigningKeys = Type.Object({
  keys: Type.Array(
    Type.Object({
      keyId: Type.String(),
      publicKeyPem: Type.String(),
      via: Type.String({ description: 'pinned, or rotation (signed by the key in from)' }),
      at: Type.String(),
      from: Type.Optional(Type.String()),
    }),
  ),
});

export const JobBody = Type.Object(
  {
    bench: Type.String({ minLength: 1, maxLength: 64 }),
    operator: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'who runs the job: required with the shared token; with a personal token it is that person' })),
    serial: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'assembly serial number' })),
    linkId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'installed link id' })),
    product: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'product from the config that describes what is tested' })),
    project: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: "installer's project id: a planned link takes its description from the project's plan; a link not in the plan is certified from the product and flagged unplanned" }),
    ),
    subject: Type.Optional(Type.Unknown({ description: 'refused: what is certified comes from the configured products' })),
    wait: Type.Boolean({ default: false, description: 'reply only when the job has ended' }),
  },
  { additionalProperties: false },
);
export type JobBodyT = Static<typeof JobBody>;

export const StatusReply = Type.Object({
  custody: Type.Object({
    storageLost: Type.Union([Type.String(), Type.Null()]),
    problems: Type.Integer(),
    brokenBenches: Type.Array(Type.Object({ bench: Type.String(), why: Type.String() })),
    fullCheck: Type.Object({ state: Type.String(), checked: Type.Integer(), problems: Type.Integer(), seconds: Type.Optional(Type.Number()) }),
  }),
  replication: Type.Union(
    [
      Type.Object({
        state: Type.String({ description: 'idle, shipping, unreachable or stopped' }),
        backlog: Type.Integer({ description: 'items not yet committed by the central store' }),
        oldestAgeSeconds: Type.Union([Type.Integer(), Type.Null()], { description: 'age of the oldest of them' }),
        shipped: Type.Integer({ description: 'shipped since the daemon started' }),
        lastShippedAt: Type.Union([Type.String(), Type.Null()]),
        lastError: Type.Union([Type.String(), Type.Null()]),
      }),
      Type.Null(),
    ],
    { description: 'replication to the central QA store; null when not configured' },
  ),
  benches: Type.Array(
    Type.Object({
      id: Type.String(),
      title: Type.String(),
      busyWith: Type.Union([Type.String(), Type.Null()]),
      waitingFor: Type.Union([Type.Object({ id: Type.String(), instruction: Type.String(), confirmSerial: Type.Optional(Type.String()) }, { additionalProperties: true }), Type.Null()], {
        description: 'the physical step the bench waits for the person to confirm',
      }),
      reference: Type.Union([
        Type.Object({ takenAt: Type.String(), ageSeconds: Type.Integer(), expired: Type.Boolean() }),
        Type.Null(),
      ]),
      instruments: Type.Array(Type.Unknown()),
      runningJobs: Type.Array(Type.Unknown()),
    }),
  ),
});

export const ReferenceBody = Type.Object(
  {
    operator: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'who references the bench (recorded with the cord verification)' })),
    acceptDespite: Type.Optional(
      Type.String({ minLength: 10, maxLength: 500, description: 'accept a reference the plausibility checks refuse, and why (e.g. "new source fitted, see work order 4711")' }),
    ),
  },
  { additionalProperties: false },
);
export type ReferenceBodyT = Static<typeof ReferenceBody>;

export const ConfirmBody = Type.Object(
  {
    step: Type.Union(['launch-cord-only', 'mate-reference-plug', 'connect-end-A', 'turn-assembly'].map((s) => Type.Literal(s)), { description: 'the step being confirmed' }),
    serial: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'the serial scanned from the assembly on the bench' })),
  },
  { additionalProperties: false },
);
export type ConfirmBodyT = Static<typeof ConfirmBody>;

export const CordList = Type.Object({
  cords: Type.Array(
    Type.Object({
      role: Type.String(),
      cordId: Type.String(),
      matingCount: Type.Integer(),
      connector: Type.Unknown(),
      verification: Type.Unknown(),
    }),
  ),
});
