// Session persistence tokens and cookies, without a network.
import type { ClusterIR } from '@tollgate/snapshot';
import { SessionPicker, sessionToken } from '../../src/proxy/session.ts';
import type { UpstreamCluster } from '../../src/upstream/index.ts';

const clusterNamed = (id: string) => ({ id, ir: { id } as ClusterIR }) as unknown as UpstreamCluster;
const blue = clusterNamed('url/http://blue:80');
const green = clusterNamed('url/http://green:80');

test('a backend token is the same on every data plane and differs between backends', () => {
  expect(sessionToken(blue.id)).toBe(sessionToken('url/http://blue:80'));
  expect(sessionToken(blue.id)).not.toBe(sessionToken(green.id));
  expect(sessionToken(blue.id)).toMatch(/^[0-9a-z]+$/);
});

test('the session cookie is marked Secure when the client came over HTTPS', () => {
  const picker = new SessionPicker(
    { type: 'Cookie', name: 'ab' },
    [
      { cluster: blue, weight: 1 },
      { cluster: green, weight: 1 },
    ],
    () => blue,
  );
  expect(picker.choose({}, true).set).toEqual([
    'set-cookie',
    `ab=${sessionToken(blue.id)}; Path=/; HttpOnly; SameSite=Lax; Secure`,
  ]);
  expect(picker.choose({}, false).set?.[1]).not.toContain('Secure');
  expect(picker.choose({ cookie: `ab=${sessionToken(green.id)}` }).cluster).toBe(green);
});

test('header values the gateway did not issue are hashed onto the backends by weight', () => {
  const picker = new SessionPicker(
    { type: 'Header', name: 'x-user' },
    [
      { cluster: blue, weight: 9 },
      { cluster: green, weight: 1 },
    ],
    () => blue,
  );
  let greens = 0;
  for (let user = 0; user < 5000; user++) {
    const { cluster, set } = picker.choose({ 'x-user': `user-${user}` });
    expect(set).toBeUndefined();
    if (cluster === green) greens++;
  }
  expect(greens / 5000).toBeGreaterThan(0.07);
  expect(greens / 5000).toBeLessThan(0.13);
});
