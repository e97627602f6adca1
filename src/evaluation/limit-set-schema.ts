import { Type, type Static } from '@sinclair/typebox';
import { FiberTypeSchema } from './record-schema.js';

/**
 * A figure is a bare number, or an object when it carries a `verify` marker (the facts file
 * took it from a secondary source) or a note. Both forms mean the same value.
 */
export const FigureSchema = Type.Union([
  Type.Number({ minimum: 0 }),
  Type.Object(
    {
      value: Type.Number({ minimum: 0 }),
      verify: Type.Optional(Type.Boolean()),
      note: Type.Optional(Type.String()),
    },
    { additionalProperties: false },
  ),
]);
export type FigureInput = Static<typeof FigureSchema>;

const ByFiberClassSchema = Type.Object(
  { multimode: Type.Optional(FigureSchema), singlemode: Type.Optional(FigureSchema) },
  { additionalProperties: false },
);

const ReturnLossSchema = Type.Object(
  {
    multimode: Type.Optional(FigureSchema),
    singlemodeUpc: Type.Optional(FigureSchema),
    singlemodeApc: Type.Optional(FigureSchema),
  },
  { additionalProperties: false },
);

const ConnectorGradeSchema = Type.Object(
  {
    title: Type.Optional(Type.String()),
    insertionLossDb: Type.Optional(ByFiberClassSchema),
    insertionLossMeanDb: Type.Optional(ByFiberClassSchema),
    returnLossDb: Type.Optional(ReturnLossSchema),
    ratedMatingCycles: Type.Optional(FigureSchema),
  },
  { additionalProperties: false },
);

const AttenuationSchema = Type.Object(
  {
    fiberTypes: Type.Array(FiberTypeSchema, { minItems: 1 }),
    wavelengthNm: Type.Integer({ minimum: 1 }),
    plant: Type.Optional(Type.Union([Type.Literal('inside'), Type.Literal('outside')])),
    dbPerKm: FigureSchema,
  },
  { additionalProperties: false },
);

const ChannelSchema = Type.Object(
  {
    channelLossDb: FigureSchema,
    reachM: FigureSchema,
    connectionLossDb: Type.Optional(FigureSchema),
  },
  { additionalProperties: false },
);

const FiberCountSchema = Type.Union([Type.Literal(8), Type.Literal(12), Type.Literal(16), Type.Literal(24)]);

const ApplicationSchema = Type.Object(
  {
    title: Type.Optional(Type.String()),
    wavelengthNm: Type.Optional(Type.Integer({ minimum: 1 })),
    note: Type.Optional(Type.String()),
    /**
     * parallel: lanes on separate fibers of one MPO (SR4, SR8, DR4...), which need a polarity
     * method that keeps lanes in order; duplex: two-fiber channels carried by the MPO cabling.
     */
    signal: Type.Optional(Type.Union([Type.Literal('parallel'), Type.Literal('duplex')])),
    /** MPO fiber counts the application's lanes fit on; a link of another count is refused. */
    fiberCounts: Type.Optional(Type.Array(FiberCountSchema, { minItems: 1, uniqueItems: true })),
    /** Wavelengths a certification of this application must include. */
    testWavelengthsNm: Type.Optional(Type.Array(Type.Integer({ minimum: 600, maximum: 1700 }), { minItems: 1, uniqueItems: true })),
    channels: Type.Record(Type.String(), ChannelSchema),
  },
  { additionalProperties: false },
);

export const LimitSetFileSchema = Type.Object(
  {
    id: Type.String({ pattern: '^[a-z0-9][a-z0-9._-]*$' }),
    version: Type.String({ pattern: '^[0-9]+(\\.[0-9]+)*$' }),
    title: Type.String({ minLength: 1 }),
    source: Type.String({ minLength: 1 }),
    notes: Type.Optional(Type.String()),
    /** Other sets, pinned to exact versions, whose figures this set starts from; its own win. */
    includes: Type.Optional(
      Type.Array(
        Type.Object(
          { id: Type.String({ minLength: 1 }), version: Type.String({ pattern: '^[0-9]+(\\.[0-9]+)*$' }) },
          { additionalProperties: false },
        ),
      ),
    ),
    /** Which grade a connector that names only its family (MTP, MPO) is judged as. */
    familyGrades: Type.Optional(
      Type.Object({ MTP: Type.Optional(Type.String()), MPO: Type.Optional(Type.String()) }, { additionalProperties: false }),
    ),
    connectorGrades: Type.Optional(Type.Record(Type.String(), ConnectorGradeSchema)),
    componentAllowances: Type.Optional(
      Type.Object(
        {
          matedPairDb: Type.Optional(FigureSchema),
          spliceDb: Type.Optional(FigureSchema),
          fiberAttenuation: Type.Optional(Type.Array(AttenuationSchema)),
        },
        { additionalProperties: false },
      ),
    ),
    applications: Type.Optional(Type.Record(Type.String(), ApplicationSchema)),
    /**
     * The most a reference-grade test cord may lose, mated to a reference-grade connector, per
     * fiber class (TIA-568.3-E / TIA-526-14: 0.10 dB multimode, 0.20 dB single-mode). A cord whose
     * verification is above it cannot certify.
     */
    referenceGradeCordLossDb: Type.Optional(ByFiberClassSchema),
  },
  { additionalProperties: false },
);

export type LimitSetFile = Static<typeof LimitSetFileSchema>;
export type ConnectorGradeInput = Static<typeof ConnectorGradeSchema>;
export type ApplicationInput = Static<typeof ApplicationSchema>;
export type AttenuationInput = Static<typeof AttenuationSchema>;
