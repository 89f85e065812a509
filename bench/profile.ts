/**
 * `tsx bench/profile.ts <file.cpuprofile> [top]`: the functions and files that
 * took the most CPU in a `node --cpu-prof` profile (self time, and total time
 * of the BFF's own functions), e.g. of the BFF under `npm run bench -- --cpu-prof`.
 */
import { readFileSync, statSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const top = Number(args.find((arg) => /^\d+$/.test(arg)) ?? 30);
// With several files (a tsx loader thread writes its own profile), the largest is the main thread's.
const file = args.filter((arg) => !/^\d+$/.test(arg)).sort((a, b) => statSync(b).size - statSync(a).size)[0];
if (!file) {
  console.error('usage: tsx bench/profile.ts <file.cpuprofile>... [top]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
// Shares are of the busy time: the idle samples (between the benchmark's runs of this target) are left out.
for (const [id] of selfUs) if (byId.get(id)!.callFrame.functionName === '(idle)') selfUs.delete(id);
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const short = (url: string) => url.replace(/^file:\/\/.*?node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench|dev)\//, '$1/');
const label = (node: ProfileNode) => `${node.callFrame.functionName || '(anonymous)'} ${short(node.callFrame.url)}:${node.callFrame.lineNumber + 1}`;

const selfByLabel = new Map<string, number>();
const selfByFile = new Map<string, number>();
const inclusiveByLabel = new Map<string, number>();
for (const [id, us] of selfUs) {
  const node = byId.get(id)!;
  selfByLabel.set(label(node), (selfByLabel.get(label(node)) ?? 0) + us);
  const fileName = short(node.callFrame.url) || `(${node.callFrame.functionName})`;
  const pkg = fileName.startsWith('src/') || fileName.startsWith('bench/') || fileName.startsWith('node:') ? fileName : fileName.split('/').slice(0, fileName.startsWith('@') ? 2 : 1).join('/');
  selfByFile.set(pkg, (selfByFile.get(pkg) ?? 0) + us);
  // Inclusive time: every distinct frame on the stack gets the sample once.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!);
    if (seen.has(l)) continue;
    seen.add(l);
    inclusiveByLabel.set(l, (inclusiveByLabel.get(l) ?? 0) + us);
  }
}

const pct = (us: number) => `${((100 * us) / total).toFixed(1).padStart(5)}%`;
const print = (title: string, map: Map<string, number>, filter: (key: string) => boolean = () => true) => {
  console.log(`\n${title}`);
  for (const [key, us] of [...map].filter(([k]) => filter(k)).sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(us)}  ${key}`);
};
console.log(`${file}: ${(total / 1e6).toFixed(2)} s busy (idle left out)`);
print('self time by package / file', selfByFile);
print('self time by function', selfByLabel);
print('inclusive time of src/ functions', inclusiveByLabel, (k) => / src\//.test(k));
