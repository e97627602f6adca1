import { Type, type Static } from '@sinclair/typebox';

/**
 * The test record: what was tested and what was read. One schema serves the factory (assembly)
 * and the installer (link); `kind` says which. docs/record-format.md explains every field and
 * docs/test-record.schema.json is this schema as JSON (kept in sync by a test).
 */

export const FiberTypeSchema = Type.Union([
  Type.Literal('OM1'),
  Type.Literal('OM2'),
  Type.Literal('OM3'),
  Type.Literal('OM4'),
  Type.Literal('OM5'),
  Type.Literal('OS1'),
  Type.Literal('OS1a'),
  Type.Literal('OS2'),
]);
export type FiberType = Static<typeof FiberTypeSchema>;
export type FiberClass = 'multimode' | 'singlemode';

export function fiberClassOf(type: FiberType): FiberClass {
  return type.startsWith('OM') ? 'multimode' : 'singlemode';
}

const EndSchema = Type.Union([Type.Literal('A'), Type.Literal('B')], { description: 'connector end of the device under test' });
export type End = Static<typeof EndSchema>;

export const ConnectorSchema = Type.Object(
  {
    family: Type.Union([Type.Literal('MTP'), Type.Literal('MPO')]),
    gender: Type.Union([Type.Literal('male'), Type.Literal('female')], { description: 'male = pinned, female = unpinned' }),
    grade: Type.Optional(Type.String({ minLength: 1, description: 'A connector grade id of the limit set (e.g. IEC-B); default: the grade of the family' })),
    polish: Type.Optional(Type.Union([Type.Literal('UPC'), Type.Literal('APC')], { description: 'end-face polish; required for single-mode (no default: single-mode MPO is most often APC)' })),
  },
  { additionalProperties: false },
);
export type Connector = Static<typeof ConnectorSchema>;

const ReadingSchema = Type.Object(
  {
    fiber: Type.Integer({ minimum: 1, maximum: 24, description: 'ferrule position (8-fiber: 1-4 and 9-12)' }),
    wavelengthNm: Type.Integer({ minimum: 600, maximum: 1700 }),
    end: Type.Optional(EndSchema),
    lossDb: Type.Optional(Type.Number({ description: 'insertion loss; or give referenceDbm and measuredDbm' })),
    referenceDbm: Type.Optional(Type.Number({ description: '1-cord reference power for this fiber and wavelength' })),
    measuredDbm: Type.Optional(Type.Number({ description: 'power through the device under test (with referenceDbm, or with lossDb when the instrument computed the loss): checked against the meter floor' })),
    returnLossDb: Type.Optional(Type.Number({ minimum: 0, description: 'positive dB (RL 26 dB = reflectance -26 dB)' })),
    noLight: Type.Optional(Type.Boolean()),
    saturated: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type Reading = Static<typeof ReadingSchema>;

const ISO_DATE_TIME = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2})$';

/**
 * A test cord's (or bench port's) last verification as a reference-grade connector: mated to a
 * reference-grade connector, every fiber lost at most `maxLossDb` (TIA-568.3-E / TIA-526-14:
 * 0.10 dB multimode, 0.20 dB single-mode). Wear and the verification's validity count from it.
 */
export const CordVerificationSchema = Type.Object(
  {
    id: Type.String({ minLength: 1, description: 'how the certificate names this verification' }),
    at: Type.String({ pattern: ISO_DATE_TIME, description: 'ISO 8601 date-time of the verification' }),
    matingCount: Type.Integer({ minimum: 0, description: "the cord's matingCount when it was verified" }),
    against: Type.String({ minLength: 1, description: 'the reference-grade connector it was mated to' }),
    wavelengthsNm: Type.Array(Type.Integer({ minimum: 600, maximum: 1700 }), { minItems: 1, uniqueItems: true }),
    maxLossDb: Type.Number({ description: 'the highest per-fiber loss measured' }),
    minLossDb: Type.Number({ description: 'the lowest per-fiber loss measured (a reference error or a plug not mated shows here)' }),
    by: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type CordVerification = Static<typeof CordVerificationSchema>;

const WearCountedSchema = {
  id: Type.String({ minLength: 1 }),
  matingCount: Type.Integer({ minimum: 0, description: 'matings of this connector so far, including those of this test' }),
  ratedMatingCycles: Type.Optional(Type.Integer({ minimum: 1, description: 'overrides the rated cycles of the grade' })),
  verification: Type.Optional(CordVerificationSchema),
};

const TestCordSchema = Type.Object(
  {
    ...WearCountedSchema,
    connector: ConnectorSchema,
    benchConnector: Type.Optional(ConnectorSchema),
  },
  { additionalProperties: false, description: 'connector = the end mated to the device under test' },
);
export type TestCord = Static<typeof TestCordSchema>;

const BenchPortSchema = Type.Object({ ...WearCountedSchema, connector: ConnectorSchema }, { additionalProperties: false });
export type BenchPort = Static<typeof BenchPortSchema>;

export const TestSetupSchema = Type.Object(
  {
    launchCord: Type.Optional(TestCordSchema),
    receiveCord: Type.Optional(TestCordSchema),
    benchPort: Type.Optional(BenchPortSchema),
  },
  { additionalProperties: false },
);
export type TestSetup = Static<typeof TestSetupSchema>;

export const PolarityDeclarationSchema = Type.Union([
  Type.Literal('A'),
  Type.Literal('B'),
  Type.Literal('C'),
  Type.Literal('method-A'),
  Type.Literal('method-B'),
  Type.Literal('method-C'),
  Type.Literal('U1'),
  Type.Literal('U2'),
]);
export type PolarityDeclaration = Static<typeof PolarityDeclarationSchema>;
export type PolarityType = Extract<PolarityDeclaration, 'A' | 'B' | 'C'>;
export type PolarityMethod = Exclude<PolarityDeclaration, PolarityType>;

const PolaritySchema = Type.Object(
  {
    declared: Type.Optional(PolarityDeclarationSchema),
    measuredMap: Type.Optional(
      Type.Record(Type.String({ pattern: '^[1-9][0-9]?$' }), Type.Union([Type.Integer({ minimum: 1, maximum: 24 }), Type.Null()]), {
        description: 'position at end A -> position at end B where light arrived, null when dark',
        // No other keys: "01" and "1" would otherwise name the same position twice.
        additionalProperties: false,
      }),
    ),
  },
  { additionalProperties: false },
);

const LimitSetRefSchema = Type.Object(
  {
    id: Type.String({ minLength: 1 }),
    version: Type.Optional(Type.String({ pattern: '^[0-9]+(\\.[0-9]+)*$', description: 'pin; default: the newest version' })),
  },
  { additionalProperties: false },
);

export const QuantitySchema = Type.Union([Type.Literal('insertionLoss'), Type.Literal('returnLoss')]);
export type Quantity = Static<typeof QuantitySchema>;

const commonFields = {
  schemaVersion: Type.Optional(Type.Literal(1)),
  limitSet: LimitSetRefSchema,
  fiberCount: Type.Union([Type.Literal(8), Type.Literal(12), Type.Literal(16), Type.Literal(24)]),
  fiberType: FiberTypeSchema,
  wavelengthsNm: Type.Array(Type.Integer({ minimum: 600, maximum: 1700 }), { minItems: 1, uniqueItems: true }),
  endsMeasured: Type.Optional(
    Type.Array(EndSchema, { minItems: 1, uniqueItems: true, description: 'ends read; default: an assembly both ends it certifies, a link ["A"]' }),
  ),
  requiredQuantities: Type.Optional(
    Type.Array(QuantitySchema, {
      minItems: 1,
      uniqueItems: true,
      description: 'what every fiber must have a reading of; default: insertion loss, and return loss where the grade has a return-loss limit',
    }),
  ),
  readings: Type.Array(ReadingSchema),
  polarity: Type.Optional(PolaritySchema),
  setup: Type.Optional(TestSetupSchema),
  testedAt: Type.Optional(Type.String({ pattern: ISO_DATE_TIME, description: 'ISO 8601 date-time' })),
  operator: Type.Optional(Type.String()),
  notes: Type.Optional(Type.String()),
};

const EndConnectorsSchema = Type.Object({ A: ConnectorSchema, B: ConnectorSchema }, { additionalProperties: false });

export const AssemblyRecordSchema = Type.Object(
  {
    kind: Type.Literal('assembly'),
    serialNumber: Type.String({ minLength: 1 }),
    connectors: EndConnectorsSchema,
    lengthM: Type.Optional(Type.Number({ minimum: 0, description: 'adds length x attenuation to the limit when the set has attenuation figures' })),
    oneEndCertifiedElsewhere: Type.Optional(
      Type.Object(
        { end: EndSchema, note: Type.String({ minLength: 1, description: 'where and how that end is certified' }) },
        { additionalProperties: false, description: 'an assembly is certified at both ends unless one end is certified elsewhere; the certificate says so' },
      ),
    ),
    ...commonFields,
  },
  { additionalProperties: false },
);
export type AssemblyRecord = Static<typeof AssemblyRecordSchema>;

export const LinkRecordSchema = Type.Object(
  {
    kind: Type.Literal('link'),
    linkId: Type.String({ minLength: 1 }),
    lengthM: Type.Number({ minimum: 0 }),
    connections: Type.Integer({ minimum: 0, description: 'mated connector pairs in the loss budget' }),
    splices: Type.Integer({ minimum: 0 }),
    application: Type.Optional(Type.String({ minLength: 1, description: 'e.g. 400GBASE-SR8' })),
    cablePlant: Type.Optional(Type.Union([Type.Literal('inside'), Type.Literal('outside')], { description: 'default inside' })),
    linkType: Type.Optional(
      Type.Union([Type.Literal('channel'), Type.Literal('permanent-link'), Type.Literal('trunk')], {
        description: 'channel: equipment cords included (end-to-end map); permanent link or trunk: the declared trunk map. Default permanent-link',
      }),
    ),
    connectors: Type.Optional(EndConnectorsSchema),
    ...commonFields,
  },
  { additionalProperties: false },
);
export type LinkRecord = Static<typeof LinkRecordSchema>;

export const TestRecordSchema = Type.Union([AssemblyRecordSchema, LinkRecordSchema], {
  $id: 'https://mpocert.invalid/schemas/test-record.json',
  title: 'mpocert test record',
});
export type TestRecord = AssemblyRecord | LinkRecord;
