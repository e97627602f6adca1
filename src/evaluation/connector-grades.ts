import { InputError } from '../errors.js';
import { formatRef, type ConnectorGrade, type Figure, type LimitSet } from './limit-set.js';
import type { Connector, FiberClass } from './record-schema.js';

/** A connector together with where it sits in the record, so a problem can name the field. */
export interface LocatedConnector {
  readonly connector: Connector;
  /** JSON path of the connector in the record, e.g. `/connectors/A`. */
  readonly path: string;
  /** How a person names it: "end A of the device", "launch cord LC-7". */
  readonly label: string;
}

export function resolveGrade(located: LocatedConnector, set: LimitSet): ConnectorGrade {
  const { connector, path } = located;
  const gradeId = connector.grade ?? set.familyGrades[connector.family];
  if (gradeId === undefined) {
    throw new InputError(`${path}/grade: limit set ${formatRef(set)} has no grade for family ${connector.family}; name a grade (${[...set.connectorGrades.keys()].join(', ')})`);
  }
  const grade = set.connectorGrades.get(gradeId);
  if (!grade) {
    const where = connector.grade === undefined ? `${path}/family` : `${path}/grade`;
    throw new InputError(`${where}: grade ${gradeId} is not in limit set ${formatRef(set)} (${[...set.connectorGrades.keys()].join(', ') || 'it has no connector grades'})`);
  }
  return grade;
}

/**
 * A mated pair performs at the lower of its two grades (source document: a mixed MTP/MPO pair is
 * judged as MPO; IEC: B with C performs as C). "Lower" is the grade allowing the higher loss for
 * this fiber class, which keeps the rule true for user grades too.
 */
export function matedPairGrade(a: LocatedConnector, b: LocatedConnector | undefined, fiberClass: FiberClass, set: LimitSet): MatedPair {
  const gradeA = resolveGrade(a, set);
  const lossA = insertionLossFigure(gradeA, fiberClass, a, set);
  if (!b) return { grade: gradeA, insertionLoss: lossA, description: `${gradeA.id} mated pair` };
  const gradeB = resolveGrade(b, set);
  const lossB = insertionLossFigure(gradeB, fiberClass, b, set);
  const lowerIsB = lossB.value > lossA.value;
  const grade = lowerIsB ? gradeB : gradeA;
  const description = gradeA.id === gradeB.id ? `${grade.id}/${grade.id} mated pair` : `${gradeA.id}/${gradeB.id} mated pair judged as ${grade.id}`;
  return { grade, insertionLoss: lowerIsB ? lossB : lossA, description };
}

export interface MatedPair {
  readonly grade: ConnectorGrade;
  readonly insertionLoss: Figure;
  readonly description: string;
}

function insertionLossFigure(grade: ConnectorGrade, fiberClass: FiberClass, located: LocatedConnector, set: LimitSet): Figure {
  const figure = grade.insertionLossDb[fiberClass];
  if (!figure) {
    throw new InputError(`${located.path}: grade ${grade.id} in limit set ${formatRef(set)} has no ${fiberClass} insertion-loss limit (fiberType and grade do not fit)`);
  }
  return figure;
}

/**
 * A grade's return-loss minimum for a connector (single-mode by its polish, UPC when unsaid), with
 * the words that name it; or why there is none.
 */
export function returnLossOf(grade: ConnectorGrade, fiberClass: FiberClass, connector: { polish?: 'UPC' | 'APC' | undefined }): { figure: Figure; label: string } | { problem: string } {
  const polish = connector.polish ?? 'UPC';
  const label = `${fiberClass}${fiberClass === 'singlemode' ? ` ${polish}` : ''}`;
  const figure = fiberClass === 'multimode' ? grade.returnLossDb.multimode : polish === 'APC' ? grade.returnLossDb.singlemodeApc : grade.returnLossDb.singlemodeUpc;
  return figure ? { figure, label } : { problem: `grade ${grade.id} has no ${label} return-loss limit` };
}

/** Rated cycles of the connector's grade, else of its family's grade (IEC grades say nothing about wear). */
export function ratedMatingCycles(located: LocatedConnector, set: LimitSet): Figure | undefined {
  const own = resolveGrade(located, set).ratedMatingCycles;
  if (own) return own;
  const familyGradeId = set.familyGrades[located.connector.family];
  return familyGradeId === undefined ? undefined : set.connectorGrades.get(familyGradeId)?.ratedMatingCycles;
}
