// translate(objects) = { snapshot, statuses }: the whole object set in, one immutable snapshot and
// one status per Tollgate object out. Pure and deterministic: no I/O, no clocks, no randomness;
// the same set in any order gives byte-identical output.
//
// Semantics (the golden files in controller/test/translate/testdata are the executable spec):
//
// Objects
// - Recognised: Route, AIProvider, Consumer, Policy (apiVersion tollgate.dev/*), Secret and Service
//   (v1), EndpointSlice (discovery.k8s.io/*). Anything else, including a same-named kind of
//   another API group, and objects without metadata.name, is ignored.
// - No namespace ⇒ "default". `status` is ignored when parsing (it is ours to write).
// - Each object is parsed with the API schema. A Tollgate object that fails ⇒ Accepted=False
//   reason Invalid (message: every field path and what is wrong), ResolvedRefs=Unknown, and it is
//   left out of the snapshot. An invalid core object counts as present but unusable: what refers
//   to it gets a message saying so.
// - Duplicates (same kind/namespace/name given twice, possible with the file source): one copy
//   is used — a valid copy over an invalid one, then the oldest creationTimestamp (copies without
//   one last), then the smallest canonical JSON — and the others are ignored. The object's
//   Accepted condition says so with reason Duplicate (when otherwise accepted) and a message.
// - Conditions carry observedGeneration = metadata.generation when present, never a
//   lastTransitionTime. Every status has Accepted and ResolvedRefs (True, reason ResolvedRefs,
//   when nothing is missing). Every failure stays with the object that has it.
//
// Routes
// - Entries are grouped by hostname into virtual hosts ("*" for a Route without hostnames); one
//   entry per (rule, match); a rule without matches gets PathPrefix "/".
// - Entries of a host are sorted by Gateway API precedence: Exact path, RegularExpression (longer
//   pattern first), PathPrefix (longer first); ties by method present, more header matches, more
//   query matches, a model match (Exact before Glob), older Route (creationTimestamp, none last),
//   namespace, name, rule order, match order. The data plane takes the first entry that matches.
// - Hosts are sorted: exact names, wildcards (longer first), "*". The data plane tries exact →
//   wildcard (longest suffix) → "*" and falls through to the next tier when nothing matches.
// - PathPrefix values lose trailing "/" (except "/"); Exact/PathPrefix values must start with "/"
//   and hold no "?" or "#" (Invalid). Header names are lowercased (matches and modifiers); of
//   several matches on one header/query name only the first counts. Durations become ms
//   (backendRequest may not exceed request, 0 = no timeout).
// - Regexes (path, header, query) must compile as JavaScript RegExp with the `u` flag and stay in
//   the RE2 subset (no lookahead/lookbehind, no backreferences); the snapshot carries them
//   anchored as `^(?:pattern)$` (they match the whole value). Otherwise the Route is
//   Accepted=False reason InvalidRegex naming the field.
// - Filters: RequestHeaderModifier/ResponseHeaderModifier → header modifiers (names lowercased);
//   URLRewrite → urlRewrite; RequestRedirect ⇒ action redirect (backendRefs and mirrors unused
//   and not resolved); RequestMirror ⇒ `mirrors` cluster ids (Service or url only). The schema's
//   CEL rules already refuse what cannot work (one filter per type except mirrors, no redirect
//   with a rewrite, ReplacePrefixMatch only on a single PathPrefix match): those are Invalid.
// - Any spec problem rejects the whole Route (Invalid / InvalidRegex); its backends are still
//   resolved so ResolvedRefs reports everything at once.
// - Conflicts: an identical match (path, method, headers, query, model) on the same hostname in
//   two Routes is kept by the older Route (creationTimestamp, then namespace/name); the other
//   loses that entry. Lost some ⇒ Accepted=True with a message listing them; lost all ⇒
//   Accepted=False reason Conflicted.
//
// Backends
// - Service (default kind): the Service in the Route's namespace; its port must exist
//   (InvalidBackend otherwise); endpoints are the ready (ready !== false) first addresses of the
//   EndpointSlices labelled kubernetes.io/service-name, on the slice port named like the Service
//   port. ExternalName ⇒ one endpoint at the external name on the backendRef port. Cluster
//   `service/<ns>/<name>:<port>`.
// - url ⇒ cluster `url/<scheme>://<host>:<port>` (default ports 80/443), tls for https,
//   authority = the Host header a client would send (port only when not the default).
// - AIProvider ⇒ it must be in the snapshot; cluster `ai/<ns>/<name>` (kind ai-provider) at its
//   base URL; backendRef `model` is carried on the weighted cluster.
// - A backendRef that does not resolve ⇒ ResolvedRefs=False (BackendNotFound, or InvalidBackend
//   when the object exists but cannot be used); the Route stays accepted; the backend leaves the
//   weighted set; a rule whose traffic-carrying backends all failed answers a direct-response 500
//   TG_ERR_BACKEND_NOT_RESOLVED. Weight 0 backends are resolved (for status) but not emitted.
//   Unresolved mirrors are dropped the same way.
// - Clusters are deduplicated, sorted by id, and only those the snapshot references are emitted.
//
// AIProviders
// - baseURL defaults per type (openai, anthropic, gemini, mistral, ollama; bedrock and vertex-ai
//   from their region/location); azure-openai and openai-compatible need one (Invalid).
//   Credentials from Secrets: apiKey (auth.secretRef), accessKeyId/secretAccessKey/sessionToken
//   (auth.aws), serviceAccountKey (auth.gcp); stringData wins over base64 data; one trailing
//   newline is dropped. A Secret/key that is missing or invalid ⇒ ResolvedRefs=False reason
//   SecretNotFound / InvalidSecret / SecretKeyNotFound, and Accepted=False reason UnresolvedRefs:
//   the provider is left out of the snapshot. `options` = the spec fields other than
//   type/baseURL/auth/models, passed through.
//
// Consumers
// - id consumer/<ns>/<name>, team, tenant, labels (metadata.labels), apiKeyHashes = sorted
//   lowercase hex SHA-256 of each key. A missing/invalid Secret or key ⇒ ResolvedRefs=False and
//   that key is skipped (the Consumer stays, with its other keys). A key already used by an older Consumer ⇒
//   ResolvedRefs=False reason DuplicateAPIKey and it is skipped (a key identifies one Consumer).
//
// Policies
// - targetRefs resolve in the Policy's namespace: Route/AIProvider/Consumer must exist (a Route
//   sectionName must name one of its rules); Namespace must be the Policy's own. status.ancestors gets one entry per target
//   (Accepted True/Accepted, or False/TargetNotFound or Invalid). A missing target ⇒
//   ResolvedRefs=False reason TargetNotFound; no target at all ⇒ Accepted=False reason
//   TargetNotFound. Accepted Policies are emitted as { id: policy/<ns>/<name>, targets, spec }.
// - Each route entry gets `policy`: per section (authentication.apiKey, authorization, request
//   rateLimits) the Policy attached most specifically wins — Route rule > Route > AIProvider (one
//   of the entry's backends) > Namespace — then the oldest, then by namespace/name
//   (policies/effective.ts). Consumer ids replace consumer names; windows become ms.
// - A Consumer with disabled: true carries `disabled: true`.
// - Edge sections (cors, ipFilter, limits, compression, cache) go on each entry's `edge` by the same
//   precedence, Consumer attachments excepted (policies/edge.ts).
//
// TLS
// - Route spec.tls.certificateRefs name kubernetes.io/tls Secrets in the Route's namespace; the PEM
//   must parse and the key match the certificate, else ResolvedRefs=False (SecretNotFound,
//   SecretKeyNotFound, InvalidCertificate) and the certificate is left out. Each hostname gets the
//   first certificate whose DNS names cover it (else the first); a Route without hostnames gives
//   the default certificate; a hostname two Routes bind keeps the older Route's (tls.ts).
import type { Snapshot } from '@tollgate/snapshot';
import { sealSnapshot } from '@tollgate/snapshot';
import { compileAIProviders } from './ai-providers.ts';
import { ClusterRegistry } from './backends.ts';
import { compileConsumers } from './consumers.ts';
import { type IndexedObject, ObjectIndex } from './objects.ts';
import { compareStrings } from './order.ts';
import { rejectInvalidGuardrails } from './policies/guardrails.ts';
import {
  attachClusterResilience,
  attachEdgePolicies,
  attachEffectivePolicies,
  compilePolicies,
} from './policies/index.ts';
import { reportJWTProblems } from './policies/jwt.ts';
import { type ObjectStatusReport, type ReportedKind, Reports } from './report.ts';
import { compileRoute, type RouteDraft } from './routes.ts';
import { compileTls, type TlsRoute } from './tls.ts';
import { assembleVirtualHosts } from './virtual-hosts.ts';

export type { PolicyIR, PolicyTargetIR } from './policies/index.ts';
export type { ObjectStatusReport, PolicyAncestorStatus } from './report.ts';

export interface TranslateResult {
  snapshot: Snapshot;
  /** Sorted by kind, namespace, name. */
  statuses: ObjectStatusReport[];
}

const REPORTED_KINDS: readonly ReportedKind[] = ['AIProvider', 'Consumer', 'Policy', 'Route'];

export function translate(objects: readonly unknown[]): TranslateResult {
  const index = new ObjectIndex(objects);
  const reports = new Reports();
  for (const kind of REPORTED_KINDS) {
    for (const entry of index.all(kind)) openReport(reports, kind, entry);
  }

  const providers = compileAIProviders(index, reports);
  const clusters = new ClusterRegistry();
  const drafts: RouteDraft[] = [];
  const tlsRoutes: TlsRoute[] = [];
  for (const entry of index.all('Route')) {
    if (!entry.object) continue;
    const report = reports.for({ ...entry.identity, kind: 'Route' });
    const draft = compileRoute(entry.object, entry.identity, report, {
      backends: { index, reports, providers },
      clusters,
    });
    if (draft) drafts.push(draft);
    if (draft && entry.object.spec.tls) tlsRoutes.push({ ...draft, route: entry.object });
  }
  const virtualHosts = assembleVirtualHosts(drafts);

  const referenced: string[] = [];
  for (const host of virtualHosts) {
    for (const entry of host.routes) {
      if (entry.action.kind === 'forward') referenced.push(...entry.action.backends.map((b) => b.clusterId));
      referenced.push(...(entry.mirrors ?? []));
    }
  }

  const policies = rejectInvalidGuardrails(compilePolicies(index, reports), reports);
  reportJWTProblems(policies, index, reports);
  attachEffectivePolicies(virtualHosts, policies, index);
  const snapshotClusters = attachClusterResilience(virtualHosts, clusters.select(referenced), index);
  attachEdgePolicies(virtualHosts, policies, index);
  const tls = compileTls(tlsRoutes, index);

  const snapshot = sealSnapshot({
    virtualHosts,
    clusters: snapshotClusters,
    aiProviders: [...providers.values()].map((p) => p.provider).sort((a, b) => compareStrings(a.id, b.id)),
    consumers: compileConsumers(index, reports),
    policies,
    ...(tls ? { tls } : {}),
  });
  return { snapshot, statuses: reports.statuses() };
}

/** Creates the object's report with what is known before compiling it: schema errors, duplicates. */
function openReport(reports: Reports, kind: ReportedKind, entry: IndexedObject): void {
  const report = reports.for({ ...entry.identity, kind });
  if (entry.ignoredCopies > 0) {
    report.note(
      'Duplicate',
      `${entry.ignoredCopies + 1} copies of ${kind} ${entry.identity.namespace}/${entry.identity.name} were given; one is used (a valid one, then the oldest, then the first by content) and the others are ignored: keep only one`,
    );
  }
  if (entry.invalid !== undefined) {
    report.reject('Invalid', entry.invalid);
    report.refsNotChecked();
  }
}
