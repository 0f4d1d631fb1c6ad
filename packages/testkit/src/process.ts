// Real processes for integration tests: started with their output captured, always stopped.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';

export interface StartedProcess {
  readonly child: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr interleaved). */
  output(): string;
  /** Resolves with the first output line matching `pattern`. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (or signal). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | string | null>;
}

const running = new Set<StartedProcess>();

export function startProcess(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; name?: string } = {},
): StartedProcess {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let buffer = '';
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  const onData = (chunk: Buffer): void => {
    buffer += chunk.toString('utf8');
    if (process.env.TOLLGATE_TEST_VERBOSE) process.stderr.write(`[${options.name ?? command}] ${chunk}`);
    for (const waiter of [...waiters]) {
      const line = buffer.split('\n').find((l) => waiter.pattern.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = once(child, 'exit').then(([code, signal]) => (code ?? signal) as number | string | null);

  const started: StartedProcess = {
    child,
    output: () => buffer,
    waitForOutput(pattern, timeoutMs = 15_000) {
      const line = buffer.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) return Promise.resolve(line);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(
            new Error(
              `${options.name ?? command}: no output matching ${pattern} within ${timeoutMs} ms.\nOutput:\n${buffer.slice(-4000)}`,
            ),
          );
        }, timeoutMs);
        const fail = (): void => {
          clearTimeout(timer);
          reject(
            new Error(
              `${options.name ?? command} exited before printing ${pattern}.\nOutput:\n${buffer.slice(-4000)}`,
            ),
          );
        };
        child.once('exit', fail);
        waiters.push({
          pattern,
          resolve: (l) => {
            clearTimeout(timer);
            child.off('exit', fail);
            resolve(l);
          },
        });
      });
    },
    async stop(signal = 'SIGTERM', graceMs = 5_000) {
      running.delete(started);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const result = await exited;
        clearTimeout(timer);
        return result;
      }
      return exited;
    },
  };
  running.add(started);
  return started;
}

/** Stops every process a test started and has not stopped yet (call from afterAll/afterEach). */
export async function stopAllProcesses(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop('SIGKILL', 0)));
}

process.on('exit', () => {
  for (const p of running) p.child.kill('SIGKILL');
});
