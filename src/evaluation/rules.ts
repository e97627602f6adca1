/**
 * Every rule that can keep a certificate from PASS, by id, with where it comes from. A reason or a
 * refusal ends with `[rule <id>: <source>]`, so a technician or an auditor can look the rule up in
 * docs/rules.md (a test keeps that page and this table in step).
 */
export const RULES = {
  'limit': 'the limit set named on the certificate (id@version)',
  'guard-band': 'mpocert guard band (evaluation.guardBandDb); OpenHTF-style marginal band',
  'missing-reading': 'TIA-568.3-E / IEC 61280-4-5: every fiber is tested at every required wavelength',
  'no-light': 'IEC 61300-3-4: a power below the meter\'s noise floor is not a measurement',
  'saturated': 'IEC 61300-3-4: a power above the meter\'s range is not a measurement',
  'power-floor': 'IEC 61300-3-4: both powers of a loss must lie above the meter\'s noise floor (its dynamic range)',
  'reference-error': 'TIA-526-14 / IEC 61280-4-5: a negative loss beyond the measurement uncertainty is a reference error',
  'no-device-in-path': 'IEC 61280-4-5 / TIA-526-14 one-cord method: a device under test adds at least one mated pair to every fiber',
  'end-b-turned': 'IEC 61300-3-4 / TIA-568.3-E: each end of an assembly is measured with that end mated to the launch cord',
  'reference-drop': 'TIA-526-14 / IEC 61280-4-5: a reference is the launch cord alone; one well below the last accepted reference through the same cord has something else in the path',
  'reference-below-source': 'TIA-526-14 / IEC 61280-4-5: a reference cannot be far below the source\'s nominal output through a reference-grade launch cord',
  'cord-verified': 'TIA-568.3-E / TIA-526-14 reference-grade test cords: verified against a reference-grade connector, at most 0.10 dB multimode, 0.20 dB single-mode',
  'cord-grade': 'IEC 61300-3-4 / IEC 61753-1: a product is measured against a reference-grade connector at least as good as its own grade',
  'own-grade': 'IEC 61753-1 / the product\'s connector specification: an assembly is certified at its own grade; the lower-grade rule is for installed links that mix connectors',
  'one-connector-per-reading': 'IEC 61300-3-4: a factory reading certifies one connector; two in one reading hide a bad one behind a good one',
  'both-ends': 'IEC 61300-3-4: each connector of an assembly is certified; the far end is measured by turning the assembly',
  'polish-stated': 'IEC 61755 / TIA-568.3-E: single-mode MPO comes as UPC or APC (most often APC); the polish sets the return-loss limit',
  'polish-match': 'IEC 61755: an APC (8 degree) end face mated to a UPC one leaves an air gap (high loss, low return loss) and is never a valid mating',
  'gender': 'TIA-604-5 / IEC 61754-7: a pinned connector mates an unpinned one only',
  'cord-wear': 'connector grade: rated mating cycles (MTP 500+, generic MPO 200)',
  'required-quantities': 'the product specification: every quantity it requires is measured on every fiber',
  'application-fibers': 'IEEE 802.3: the application\'s lanes need an MPO of its fiber count',
  'application-wavelengths': 'IEEE 802.3 / TIA-568.3-E: a link is certified at the wavelength its application runs at',
  'application-polarity': 'TIA-568.3-E: parallel optics need a connectivity method that keeps lanes in order (A, B, U1, U2 with the right cords), never type C',
  'application-reach': 'IEEE 802.3: the application\'s maximum reach on the fiber type',
  'polarity': 'TIA-568.3-E: the measured end-to-end map must equal the declared polarity\'s map',
  'polarity-measured': 'TIA-568.3-E: polarity is verified, not assumed; a declared polarity needs a measured map',
  'limit-set-pinned': 'mpocert: a product pins its limit set\'s id and version; a user set may not reuse a shipped id',
  'subject-from-product': 'mpocert: what is certified comes from the products configured on the daemon, never from the request',
} as const;

export type RuleId = keyof typeof RULES;

/** " [rule <id>: <source>]": appended to every reason and refusal. */
export function cite(rule: RuleId): string {
  return ` [rule ${rule}: ${RULES[rule]}]`;
}
