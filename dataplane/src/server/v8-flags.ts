// V8 settings of the data-plane process. main.ts imports this module first, so they hold before
// any other module allocates.
//
// Allocation-site pretenuring is off: under proxy load it feeds on itself. Once V8 decides that a
// site's objects survive (start-up allocations, or a burst of requests in flight during a young
// GC), it allocates them straight into the old generation; those per-request objects die within
// milliseconds but stay there until the next full GC, and every young object they point to
// (headers, records, buffers) is kept alive by the old-to-new remembered set through each young GC
// and promoted in turn. Measured on the JSON route at 7,500 requests/s: ~8 MB promoted per
// scavenge, scavenges of 12–25 ms four times a second (the p99 tail) and the old generation
// growing 36 MB/s between full GCs; without pretenuring, scavenges of ~1 ms that promote ~30 KB.
// An explicit `--allocation-site-pretenuring` on the command line wins.
import { setFlagsFromString } from 'node:v8';

if (!process.execArgv.some((flag) => /^--(no-)?allocation[-_]site[-_]pretenuring$/.test(flag)))
  setFlagsFromString('--no-allocation-site-pretenuring');
