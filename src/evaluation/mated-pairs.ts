import type { Figure, LimitSet } from './limit-set.js';
import { matedPairGrade, returnLossOf, type LocatedConnector, type MatedPair } from './connector-grades.js';
import type { Connector, End, FiberClass, TestSetup } from './record-schema.js';

/**
 * The mated pairs inside one measurement from `end`, by the 1-cord method (TIA-526-14 / IEC
 * 61280-4-5, FIBER-TEST-FACTS.md section 3): the launch cord mates the device at the end light
 * enters; a receive cord, when one is used, mates the far end. Without a declared cord the pair is
 * judged on the device's own connector grade (a reference-grade cord is at least as good).
 */
export interface EndPairs {
  readonly launch: MatedPair;
  readonly receive?: MatedPair;
  readonly returnLoss?: Figure;
  readonly returnLossProblem?: string;
}

export function pairsForEnd(
  end: End,
  connectors: { readonly A: Connector; readonly B: Connector },
  setup: TestSetup | undefined,
  fiberClass: FiberClass,
  set: LimitSet,
  deviceLabel: string,
): EndPairs {
  const far: End = end === 'A' ? 'B' : 'A';
  const device = (e: End): LocatedConnector => ({ connector: connectors[e], path: `/connectors/${e}`, label: `end ${e} of ${deviceLabel}` });
  const launchCord = setup?.launchCord;
  const receiveCord = setup?.receiveCord;
  const launch = matedPairGrade(
    device(end),
    launchCord && { connector: launchCord.connector, path: '/setup/launchCord/connector', label: `launch cord ${launchCord.id}` },
    fiberClass,
    set,
  );
  const receive = receiveCord
    ? matedPairGrade(
        device(far),
        { connector: receiveCord.connector, path: '/setup/receiveCord/connector', label: `receive cord ${receiveCord.id}` },
        fiberClass,
        set,
      )
    : undefined;
  const rl = returnLossOf(launch.grade, fiberClass, connectors[end]);
  return {
    launch,
    ...(receive ? { receive } : {}),
    ...('problem' in rl ? { returnLossProblem: rl.problem } : { returnLoss: rl.figure }),
  };
}
