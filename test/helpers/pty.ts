/** socat pty pairs for tests; every pair started here is closed by closeAllPtys(). */
import { startPtyPair, type PtyPair } from '../../fixtures/simulators/pty.js';

const open = new Set<PtyPair>();

export async function ptyPair(): Promise<PtyPair> {
  const p = await startPtyPair();
  open.add(p);
  return p;
}

export async function closeAllPtys(): Promise<void> {
  for (const p of open) await p.close();
  open.clear();
}
