// A source turns some outside world (a directory of YAML, the Kubernetes API) into the current
// set of raw objects. The controller only ever sees whole object sets: sources never emit
// partial state, and nothing is emitted before the first complete read (the sync barrier).
import type { EventEmitter } from 'node:events';

/** A problem reading the source that is not tied to one object (e.g. a file that is not YAML). */
export interface SourceProblem {
  /** Where it happened: a file path, a resource kind. */
  location: string;
  message: string;
}

export interface SourceState {
  /** Raw objects as read (apiVersion/kind/metadata/…), not yet validated. */
  objects: unknown[];
  problems: SourceProblem[];
}

export interface ObjectSource extends EventEmitter<{ change: [SourceState] }> {
  /** Resolves after the first complete read; emits 'change' for it and for every later change. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The latest complete state (the one last emitted). */
  current(): SourceState;
}
