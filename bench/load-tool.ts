// Runs a load generator (wrk, hey) pinned with `taskset` and parses what it printed. Its output
// (stdout and stderr together) is read whole: both tools print their report once, at the end.
import { spawn } from 'node:child_process';

export function runLoadTool<T>(
  tool: string,
  tasksetArgs: string[],
  parse: (output: string) => T,
  env: NodeJS.ProcessEnv = process.env,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', tasksetArgs, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d;
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`${tool} exited ${code}:\n${out}`));
      try {
        resolve(parse(out));
      } catch (error) {
        reject(error);
      }
    });
  });
}
