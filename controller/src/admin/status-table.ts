// Renders controller status the way `kubectl get` would: one row per object, the three
// conditions as columns, and the message of the first condition that is not True.
import type { ControllerStatus } from '../controller.ts';

export function renderStatusTable(status: ControllerStatus): string {
  const header = ['KIND', 'NAMESPACE', 'NAME', 'ACCEPTED', 'RESOLVEDREFS', 'PROGRAMMED', 'MESSAGE'];
  const rows = status.objects.map((object) => {
    const condition = (type: string) => object.conditions.find((c) => c.type === type);
    const problem = object.conditions.find((c) => c.status !== 'True');
    return [
      object.ref.kind,
      object.ref.namespace,
      object.ref.name,
      condition('Accepted')?.status ?? '-',
      condition('ResolvedRefs')?.status ?? '-',
      condition('Programmed')?.status ?? '-',
      problem ? `${problem.reason}: ${problem.message}` : '',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (i === 6 ? 0 : r[i]!.length))));
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('   ')
      .trimEnd();
  const out = [line(header), ...rows.map(line)];
  const summary = [
    `snapshot ${status.version ?? '(none yet)'}`,
    `data planes: ${status.rollout.acked}/${status.rollout.connected} running it`,
  ];
  out.push('', summary.join(', '));
  for (const problem of status.problems) out.push(`problem in ${problem.location}: ${problem.message}`);
  return `${out.join('\n')}\n`;
}
