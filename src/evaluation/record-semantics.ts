import { endsJudged } from './ends.js';
import { InputError } from '../errors.js';
import { describePositions, fiberPositions } from './fiber-positions.js';
import { readingKey } from './judge-readings.js';
import { fiberClassOf, type Connector, type End, type FiberClass, type TestRecord } from './record-schema.js';
import { cite } from './rules.js';

/**
 * Where each fiber class is tested (FIBER-TEST-FACTS.md section 3): multimode at 850 and 1300 nm,
 * single-mode at 1310, 1550 and 1625 nm. A single-mode product swept at 850 nm, or a multimode
 * one at 1550, would be judged against limits that do not apply to what was measured.
 */
const WAVELENGTH_WINDOWS_NM: Record<FiberClass, readonly (readonly [number, number])[]> = {
  multimode: [
    [800, 950],
    [1250, 1350],
  ],
  singlemode: [[1260, 1675]],
};

/**
 * What the schema cannot say: readings and map entries must name positions, wavelengths and ends
 * the record declares, and each (fiber, wavelength, end) is read once.
 */
export function checkRecordSemantics(record: TestRecord): void {
  const positions = new Set(fiberPositions(record.fiberCount));
  const wavelengths = new Set(record.wavelengthsNm);
  const fiberClass = fiberClassOf(record.fiberType);
  record.wavelengthsNm.forEach((nm, i) => {
    if (!WAVELENGTH_WINDOWS_NM[fiberClass].some(([lo, hi]) => nm >= lo && nm <= hi)) {
      const windows = WAVELENGTH_WINDOWS_NM[fiberClass].map(([lo, hi]) => `${lo}-${hi}`).join(' or ');
      throw new InputError(`/wavelengthsNm/${i}: ${nm} nm is not a ${fiberClass} test wavelength for ${record.fiberType} (${windows} nm)`);
    }
  });
  if (fiberClass === 'singlemode') requirePolish(record);
  if (record.kind === 'link' || record.lengthM !== undefined) {
    // A length beyond any real link of the fiber class makes the budget (and so the limit) whatever it says.
    const maxM = fiberClass === 'multimode' ? 2_000 : 100_000;
    if ((record.lengthM ?? 0) > maxM) throw new InputError(`/lengthM: ${record.lengthM} m is longer than any ${fiberClass} link (${maxM} m)`);
  }
  const ends = new Set<End>(endsJudged(record));
  const seen = new Map<number, number>();
  record.readings.forEach((reading, i) => {
    const at = `/readings/${i}`;
    if (!positions.has(reading.fiber)) {
      throw new InputError(`${at}/fiber: position ${reading.fiber} is not used by a ${record.fiberCount}-fiber connector (positions ${describePositions(record.fiberCount)})`);
    }
    if (!wavelengths.has(reading.wavelengthNm)) {
      throw new InputError(`${at}/wavelengthNm: ${reading.wavelengthNm} nm is not in wavelengthsNm (${record.wavelengthsNm.join(', ')})`);
    }
    const end = reading.end ?? 'A';
    if (!ends.has(end)) throw new InputError(`${at}/end: end ${end} is not an end this test judges (${[...ends].join(', ')}; see endsMeasured)`);
    // A loss is given (with the power it was measured at, e.g. by a loss-test set) or computed
    // from both powers; never both ways, so nothing can contradict itself.
    const hasLoss = reading.lossDb !== undefined;
    const hasPowers = reading.referenceDbm !== undefined;
    if (hasLoss && hasPowers) throw new InputError(`${at}/lossDb: give lossDb or referenceDbm + measuredDbm, not both`);
    if (hasPowers && reading.measuredDbm === undefined) throw new InputError(`${at}/measuredDbm: is required with referenceDbm`);
    if (!hasLoss && !hasPowers && reading.measuredDbm !== undefined) throw new InputError(`${at}/referenceDbm: is required with measuredDbm (or give lossDb)`);
    if (!hasLoss && !hasPowers && !reading.noLight && !reading.saturated) {
      throw new InputError(`${at}/lossDb: is required (or referenceDbm + measuredDbm, or noLight / saturated)`);
    }
    const key = readingKey(reading.fiber, reading.wavelengthNm, end);
    const first = seen.get(key);
    if (first !== undefined) {
      throw new InputError(`${at}: duplicate reading for fiber ${reading.fiber} at ${reading.wavelengthNm} nm, end ${end} (first at /readings/${first})`);
    }
    seen.set(key, i);
  });
  for (const [from, to] of Object.entries(record.polarity?.measuredMap ?? {})) {
    if (!positions.has(Number(from))) {
      throw new InputError(`/polarity/measuredMap/${from}: position ${from} is not used by a ${record.fiberCount}-fiber connector (positions ${describePositions(record.fiberCount)})`);
    }
    if (to !== null && !positions.has(to)) {
      throw new InputError(`/polarity/measuredMap/${from}: position ${to} is not used by a ${record.fiberCount}-fiber connector (positions ${describePositions(record.fiberCount)})`);
    }
  }
}

/**
 * Single-mode MPO comes as UPC or APC, most often APC, and the polish sets the return-loss limit
 * and which cords may mate: it is never assumed.
 */
function requirePolish(record: TestRecord): void {
  const located: [string, Connector | undefined][] = [
    ['/connectors/A', record.connectors?.A],
    ['/connectors/B', record.connectors?.B],
    ['/setup/launchCord/connector', record.setup?.launchCord?.connector],
    ['/setup/launchCord/benchConnector', record.setup?.launchCord?.benchConnector],
    ['/setup/receiveCord/connector', record.setup?.receiveCord?.connector],
    ['/setup/benchPort/connector', record.setup?.benchPort?.connector],
  ];
  for (const [path, connector] of located) {
    if (connector && connector.polish === undefined) {
      throw new InputError(`${path}/polish: a single-mode (${record.fiberType}) connector must state its polish, UPC or APC${cite('polish-stated')}`);
    }
  }
}
