// The docs' manifests go through the real translator, so a doc whose manifest stops compiling
// fails a test instead of a user. `problems` lists every condition that is not True, so a test
// can assert it is empty and show which object said what when it is not.
import { type TranslateResult, translate } from '../../controller/src/translate/index.ts';

export interface DocsTranslation extends TranslateResult {
  /** `Kind name: message` of every condition that is not True, in status order. */
  problems: string[];
}

export function translateDocs(objects: readonly unknown[]): DocsTranslation {
  const result = translate(objects);
  const problems = result.statuses.flatMap((s) =>
    s.conditions.filter((c) => c.status !== 'True').map((c) => `${s.ref.kind} ${s.ref.name}: ${c.message}`),
  );
  return { ...result, problems };
}
