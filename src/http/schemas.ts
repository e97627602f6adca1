import { Type, type Static } from '@sinclair/typebox';

/** Route schemas: fastify validates requests and serializes replies with them. */

export const ErrorReply = Type.Object({ error: Type.String(), message: Type.String() });

export const Health = Type.Object({ status: Type.Literal('ok') });

// Bounded: SQLite binds 64-bit integers; a larger id must be a 400, not a failed bind.
export const IdParam = Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) });
export const JobIdParam = Type.Object({ id: Type.String({ format: 'uuid' }) });
export const BenchIdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });

export const FormatQuery = Type.Object(
  { format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('html'), Type.Literal('csv')])) },
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
    from: Type.Optional(IsoDate),
    to: Type.Optional(IsoDate),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
    offset: Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 }),
  },
  { additionalProperties: false },
);
export type CertificateQueryT = Static<typeof CertificateQuery>;

export const CertificateSummary = Type.Object({
  id: Type.Integer(),
  uuid: Type.String(),
  benchId: Type.String(),
  subjectKind: Type.String(),
  serial: Type.Union([Type.String(), Type.Null()]),
  linkId: Type.Union([Type.String(), Type.Null()]),
  verdict: Type.String(),
  limitSetId: Type.String(),
  limitSetVersion: Type.String(),
  issuedAt: Type.String(),
});

export const CertificateList = Type.Object({
  total: Type.Integer(),
  limit: Type.Integer(),
  offset: Type.Integer(),
  items: Type.Array(CertificateSummary),
});

export const VerifyReply = Type.Object({
  id: Type.Integer(),
  valid: Type.Boolean(),
  problems: Type.Array(Type.Object({ certificateId: Type.Integer(), problem: Type.String(), detail: Type.String() })),
});

export const SigningKeys = Type.Object({
  keys: Type.Array(Type.Object({ keyId: Type.String(), publicKeyPem: Type.String(), firstUsedAt: Type.String() })),
});

export const JobBody = Type.Object(
  {
    bench: Type.String({ minLength: 1, maxLength: 64 }),
    operator: Type.String({ minLength: 1, maxLength: 128, description: 'who runs the job' }),
    serial: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'assembly serial number' })),
    linkId: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'installed link id' })),
    product: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'product from the config that describes what is tested' })),
    subject: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'what is tested, inline (see docs/record-format.md)' })),
    wait: Type.Boolean({ default: false, description: 'reply only when the job has ended' }),
  },
  { additionalProperties: false },
);
export type JobBodyT = Static<typeof JobBody>;

export const StatusReply = Type.Object({
  benches: Type.Array(
    Type.Object({
      id: Type.String(),
      title: Type.String(),
      busyWith: Type.Union([Type.String(), Type.Null()]),
      reference: Type.Union([
        Type.Object({ takenAt: Type.String(), ageSeconds: Type.Integer(), expired: Type.Boolean() }),
        Type.Null(),
      ]),
      instruments: Type.Array(Type.Unknown()),
      runningJobs: Type.Array(Type.Unknown()),
    }),
  ),
});

export const CordParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }), cordId: Type.String({ minLength: 1, maxLength: 64 }) });
export const ReverifyBody = Type.Object(
  { operator: Type.String({ minLength: 1, maxLength: 128, description: 'who re-verified the cord' }) },
  { additionalProperties: false },
);
export const CordList = Type.Object({
  cords: Type.Array(
    Type.Object({
      role: Type.String(),
      cordId: Type.String(),
      matingCount: Type.Integer(),
      reverifiedAtMatingCount: Type.Union([Type.Integer(), Type.Null()]),
      reverifiedAt: Type.Union([Type.String(), Type.Null()]),
      reverifiedBy: Type.Union([Type.String(), Type.Null()]),
      connector: Type.Unknown(),
    }),
  ),
});
