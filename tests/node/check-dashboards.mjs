// Type-checks Grafana dashboard JSON files against @grafana/schema with tsc --strict:
//   node tests/node/check-dashboards.mjs dashboards/*.json
// Each file is wrapped as `(<json>) satisfies DeepPartial<Dashboard>`: wrong types, bad enum values
// and unknown keys fail; fields the schema makes required may be left out, as Grafana fills them.
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node check-dashboards.mjs DASHBOARD.json...');
  process.exit(2);
}
const work = mkdtempSync(join(here, '.check-'));
try {
  const names = [];
  files.forEach((file, i) => {
    const json = readFileSync(file, 'utf8');
    JSON.parse(json); // valid JSON first
    const name = join(work, `d${i}.ts`);
    writeFileSync(name, `// ${basename(file)}
import type { Dashboard } from '@grafana/schema';
type DeepPartial<T> = T extends (infer U)[] ? DeepPartial<U>[] : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;
export const dashboard = (${json}) satisfies DeepPartial<Dashboard>;
`);
    names.push(name);
  });
  writeFileSync(join(work, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, skipLibCheck: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', types: [] },
    files: names.map(n => basename(n)),
  }));
  try {
    execFileSync(join(here, 'node_modules', '.bin', 'tsc'), ['-p', join(work, 'tsconfig.json')], { stdio: 'pipe', encoding: 'utf8' });
  } catch (e) {
    const out = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    // Name the dashboard each error is in.
    console.error(out.replace(/d(\d+)\.ts/g, (_, n) => basename(files[Number(n)])));
    process.exit(1);
  }
  for (const f of files) console.log(`ok ${basename(f)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
