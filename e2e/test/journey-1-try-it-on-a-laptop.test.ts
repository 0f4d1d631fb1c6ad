// Journey 1, "Try it on a laptop": the README's first command (`make up`, which runs
// scripts/standalone.ts once the dependencies are installed) starts the gateway with the example
// manifests, the example backends and the mock LLM, and prints `curl` lines; each one, run by the
// real curl exactly as printed, works. The gateway, admin and gRPC ports are moved off their
// defaults with the documented variables (a developer's own `make up` may be running); the
// example backends keep their fixed ports (9081–9083), which the example manifests name.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, type StartedProcess, startProcess } from '@tollgate/testkit';

const root = path.resolve(import.meta.dirname, '../..');
const SLOW = 60_000;
const run = promisify(execFile);

let demo: StartedProcess;
let printed = '';

beforeAll(async () => {
  const [gateway, dataplaneAdmin, controllerAdmin, grpc] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  demo = startProcess(process.execPath, [path.join(root, 'scripts/standalone.ts')], {
    name: 'make up',
    cwd: root,
    env: {
      TOLLGATE_PORT: String(gateway),
      TOLLGATE_DATAPLANE_ADMIN_PORT: String(dataplaneAdmin),
      TOLLGATE_CONTROLLER_ADMIN_PORT: String(controllerAdmin),
      TOLLGATE_GRPC_PORT: String(grpc),
    },
  });
  await demo.waitForOutput(/Stop: Ctrl-C/, 45_000);
  printed = demo.output();
}, SLOW);

afterAll(async () => {
  await demo?.stop();
}, SLOW);

/** The printed command lines that start with curl, comments after `#` dropped. */
function curlLines(): string[] {
  return printed
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('curl '))
    .map((line) => line.replace(/\s+#.*$/, ''));
}

const sh = async (command: string) => (await run('sh', ['-c', command], { timeout: 10_000 })).stdout;

test(
  'the printed plain-route curl line reaches the example backend',
  async () => {
    const line = curlLines().find((l) => l.includes('/echo/hello'));
    expect(line).toBeDefined();
    const body = JSON.parse(await sh(`${line} -f`)) as {
      backend: string;
      path: string;
      headers: Record<string, string>;
    };
    expect(body).toMatchObject({ backend: 'blue', path: '/echo/hello' });
    // The example Route's header filter ran on the way.
    expect(body.headers['x-served-by']).toBe('tollgate');
  },
  SLOW,
);

test(
  'the printed OpenAI-style chat curl line is answered by the mock LLM',
  async () => {
    const line = curlLines().find((l) => l.includes('/v1/chat/completions'));
    expect(line).toBeDefined();
    const body = JSON.parse(await sh(`${line} -f`)) as { choices: Array<{ message: { content: string } }> };
    expect(body.choices[0]!.message.content).toContain('Hello');
  },
  SLOW,
);

test(
  'every other printed curl line works as printed',
  async () => {
    const lines = curlLines();
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) await expect(sh(`${line} -f -o /dev/null`)).resolves.toBe('');
  },
  SLOW,
);
