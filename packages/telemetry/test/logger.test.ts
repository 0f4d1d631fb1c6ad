// The batched stdout destination: lines whole and in order, written when a batch fills, when the
// process is quiet, on flush and at exit; a destination that fails or stops draining loses lines,
// never the process.
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BatchedDestination, createLogger } from '../src/index.ts';

let dir: string;
const open: Array<{ fd: number; destination: BatchedDestination }> = [];
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'tollgate-log-'));
});
afterEach(() => {
  for (const { fd, destination } of open.splice(0)) {
    destination.close();
    closeSync(fd);
  }
  rmSync(dir, { recursive: true, force: true });
});

function destinationTo(
  file: string,
  options: ConstructorParameters<typeof BatchedDestination>[1] = {},
  flags = 'a',
) {
  const fd = openSync(file, flags);
  const destination = new BatchedDestination(fd, options);
  open.push({ fd, destination });
  return destination;
}

const flushed = (destination: BatchedDestination) =>
  new Promise<void>((resolve) => destination.flush(() => resolve()));
const linesOf = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);

test('writes every line whole and in order, in batches, and flush calls back once all are written', async () => {
  const file = path.join(dir, 'out.log');
  const destination = destinationTo(file, { batchBytes: 4096 });
  const expected = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(i % 97) }));
  for (const line of expected) destination.write(`${line}\n`);
  await flushed(destination);
  expect(linesOf(file)).toEqual(expected);
  expect(destination.dropped).toBe(0);
});

test('a quiet process gets its lines written without a flush', async () => {
  const file = path.join(dir, 'out.log');
  writeFileSync(file, '');
  const destination = destinationTo(file, { flushMs: 20 });
  destination.write('{"a":1}\n');
  destination.write('{"a":2}\n');
  for (let i = 0; i < 200 && linesOf(file).length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  expect(linesOf(file)).toEqual(['{"a":1}', '{"a":2}']);
});

test('flushSync writes what is pending at once (what the exit handler does)', () => {
  const file = path.join(dir, 'out.log');
  const destination = destinationTo(file);
  destination.write('{"last":true}\n');
  destination.flushSync();
  expect(linesOf(file)).toEqual(['{"last":true}']);
});

test('a destination that cannot be written loses its lines without throwing', async () => {
  const file = path.join(dir, 'read-only.log');
  writeFileSync(file, '');
  const destination = destinationTo(file, { batchBytes: 64 }, 'r');
  for (let i = 0; i < 10; i++) expect(destination.write(`{"i":${i},"pad":"${'x'.repeat(40)}"}\n`)).toBe(true);
  await flushed(destination);
  expect(destination.dropped).toBe(10);
  expect(() => destination.flushSync()).not.toThrow();
});

test('lines beyond maxPendingBytes are dropped while nothing drains', () => {
  const file = path.join(dir, 'out.log');
  const destination = destinationTo(file, { batchBytes: 1 << 20, maxPendingBytes: 1000 });
  const line = `${JSON.stringify({ pad: 'x'.repeat(88) })}\n`;
  const accepted = Array.from({ length: 20 }, () => destination.write(line)).filter(Boolean).length;
  expect(accepted).toBe(Math.floor(1000 / line.length));
  expect(destination.dropped).toBe(20 - accepted);
  destination.flushSync();
  expect(linesOf(file)).toHaveLength(accepted);
});

test('a pino logger on the destination writes JSON lines, and logger.flush waits for them', async () => {
  const file = path.join(dir, 'out.log');
  const logger = createLogger({ name: 'test', level: 'info', destination: destinationTo(file) });
  logger.info({ route: 'ns/r/0/0', authorization: 'Bearer secret' }, 'request');
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  const [line] = linesOf(file).map((l) => JSON.parse(l) as Record<string, unknown>);
  expect(line).toMatchObject({ level: 'info', component: 'test', route: 'ns/r/0/0', msg: 'request' });
  expect(line!.authorization).toBe('[REDACTED]');
});
