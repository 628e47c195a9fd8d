#!/usr/bin/env node
// Checks rendered Kubernetes manifests (multi-document YAML, e.g. `kubectl kustomize deploy/base`)
// against the Kubernetes and prometheus-operator schemas, offline.
//
//   usage: node tests/node/validate-manifests.mjs FILE.yaml
//
// Two passes:
//   1. Each object goes through its kubernetes-models class: `new Cls(doc).validate()` checks types,
//      required fields and enum values. One line per object; the first failure stops with its error.
//      A kind not in the table below fails too, so nothing slips through unvalidated: add the class
//      when the manifests gain a kind.
//   2. Unknown fields, which pass 1 does not see (the schemas allow extra properties) but a real API
//      server refuses under kubectl's default --validate=strict: every object is written into a
//      TypeScript file as `{...} satisfies IKind` and type-checked with tsc, whose excess-property
//      check names the misspelt or misplaced field (readOnlyRootFileSystem, a probe under the pod).
//
// Exit code 0 when every object passes both; 1 on a failure; 2 on bad usage or an unreadable file.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as yaml from 'js-yaml';

import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole';
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PriorityClass } from 'kubernetes-models/scheduling.k8s.io/v1/PriorityClass';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { PodMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';

const PO = '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';

// apiVersion/kind -> [class, module path for its TypeScript interface I<Kind>].
const MODELS = new Map([
  ['v1/Namespace', [Namespace, 'kubernetes-models/v1/Namespace']],
  ['v1/Service', [Service, 'kubernetes-models/v1/Service']],
  ['v1/ServiceAccount', [ServiceAccount, 'kubernetes-models/v1/ServiceAccount']],
  ['v1/ConfigMap', [ConfigMap, 'kubernetes-models/v1/ConfigMap']],
  ['v1/PersistentVolumeClaim', [PersistentVolumeClaim, 'kubernetes-models/v1/PersistentVolumeClaim']],
  ['apps/v1/DaemonSet', [DaemonSet, 'kubernetes-models/apps/v1/DaemonSet']],
  ['apps/v1/Deployment', [Deployment, 'kubernetes-models/apps/v1/Deployment']],
  ['batch/v1/CronJob', [CronJob, 'kubernetes-models/batch/v1/CronJob']],
  ['batch/v1/Job', [Job, 'kubernetes-models/batch/v1/Job']],
  ['rbac.authorization.k8s.io/v1/ClusterRole', [ClusterRole, 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole']],
  ['rbac.authorization.k8s.io/v1/ClusterRoleBinding', [ClusterRoleBinding, 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding']],
  ['rbac.authorization.k8s.io/v1/Role', [Role, 'kubernetes-models/rbac.authorization.k8s.io/v1/Role']],
  ['rbac.authorization.k8s.io/v1/RoleBinding', [RoleBinding, 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding']],
  ['networking.k8s.io/v1/NetworkPolicy', [NetworkPolicy, 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy']],
  ['scheduling.k8s.io/v1/PriorityClass', [PriorityClass, 'kubernetes-models/scheduling.k8s.io/v1/PriorityClass']],
  ['policy/v1/PodDisruptionBudget', [PodDisruptionBudget, 'kubernetes-models/policy/v1/PodDisruptionBudget']],
  ['monitoring.coreos.com/v1/ServiceMonitor', [ServiceMonitor, `${PO}/ServiceMonitor`]],
  ['monitoring.coreos.com/v1/PodMonitor', [PodMonitor, `${PO}/PodMonitor`]],
  ['monitoring.coreos.com/v1/PrometheusRule', [PrometheusRule, `${PO}/PrometheusRule`]],
]);

const here = dirname(fileURLToPath(import.meta.url));

function fail(code, message) {
  process.stderr.write(`error: ${message}\n`);
  process.exit(code);
}

const file = process.argv[2];
if (!file || process.argv.length > 3) {
  fail(2, 'usage: node validate-manifests.mjs FILE.yaml (multi-document YAML, e.g. kubectl kustomize output)');
}

let docs;
try {
  docs = yaml.loadAll(readFileSync(file, 'utf8')).filter((d) => d !== null && d !== undefined);
} catch (e) {
  fail(2, `${file}: ${e.message}`);
}
if (docs.length === 0) {
  fail(1, `${file}: no objects`);
}

// Pass 1: the schema of each object.
const checked = [];
for (const [i, doc] of docs.entries()) {
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    fail(1, `${file}: document ${i + 1} is not a mapping`);
  }
  const key = `${doc.apiVersion}/${doc.kind}`;
  const name = `${doc.kind ?? '?'} ${doc.metadata?.namespace ? doc.metadata.namespace + '/' : ''}${doc.metadata?.name ?? '?'}`;
  const model = MODELS.get(key);
  if (!model) {
    fail(1, `${name}: no schema for apiVersion ${doc.apiVersion}, kind ${doc.kind}; add its class to validate-manifests.mjs`);
  }
  const [Cls, module] = model;
  try {
    new Cls(doc).validate();
  } catch (e) {
    fail(1, `${name} (${key}): ${e.message}`);
  }
  console.log(`ok   ${name} (${key})`);
  checked.push({ doc, name, module, type: `I${doc.kind}` });
}

// Pass 2: unknown fields, through TypeScript's excess-property check.
const work = mkdtempSync(join(tmpdir(), 'throttlewatch-manifests-'));
try {
  symlinkSync(join(here, 'node_modules'), join(work, 'node_modules'), 'dir');
  const modules = [...new Set(checked.map((c) => c.module))];
  const lines = modules.map((m, i) => `import type { ${checked.find((c) => c.module === m).type} as T${i} } from '${m}';`);
  for (const [i, c] of checked.entries()) {
    // One object per line, so a tsc error's line number names the object.
    lines.push(`export const o${i} = ${JSON.stringify(c.doc)} satisfies T${modules.indexOf(c.module)};`);
  }
  const header = lines.length - checked.length;
  writeFileSync(join(work, 'manifests.ts'), lines.join('\n') + '\n');
  writeFileSync(join(work, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, skipLibCheck: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: [] },
    files: ['manifests.ts'],
  }));
  try {
    execFileSync(process.execPath, [join(here, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', work], { cwd: work, encoding: 'utf8', stdio: 'pipe' });
  } catch (e) {
    const out = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim();
    if (!/error TS\d+/.test(out)) {
      fail(1, `tsc did not run (is tests/node/node_modules complete? npm ci --prefix tests/node): ${out || e.message}`);
    }
    const named = out.split('\n').map((l) => {
      const m = /manifests\.ts\((\d+),\d+\)/.exec(l);
      const obj = m ? checked[Number(m[1]) - 1 - header] : undefined;
      return obj ? `${obj.name}: ${l.replace(/^.*?error /, 'error ')}` : l;
    });
    fail(1, `unknown or mistyped fields (tsc):\n${named.join('\n')}`);
  }
  console.log(`ok   ${checked.length} objects: no unknown fields`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
