/**
 * The layers hold: no module imports a layer above its own and nothing imports in a cycle (the rules are in
 * .dependency-cruiser.cjs). The second test proves the rules bite, on a small tree that breaks them.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise');

function cruise(cwd: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(DEPCRUISE, ['src', '--config', '.dependency-cruiser.cjs', '--output-type', 'err'], { cwd, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, output: stdout + stderr });
    });
  });
}

describe('import layers', () => {
  it('tsnet has no upward import and no import cycle', async () => {
    const result = await cruise(ROOT);
    expect(result.output).toMatch(/no dependency violations found/u);
    expect(result.code).toBe(0);
  });

  it('refuses an upward import, a CLI that reaches past the client, and a cycle', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnet-layers-'));
    try {
      for (const f of ['.dependency-cruiser.cjs', 'tsconfig.json']) copyFileSync(join(ROOT, f), join(dir, f));
      const files: Record<string, string> = {
        'src/netlink/codec.ts': "import { open } from '../cnm/controller.js';\nexport const codec = open;\n",
        'src/cnm/controller.ts': 'export const open = 1;\n',
        'src/cli/main.ts': "import { open } from '../cnm/controller.js';\nexport const main = open;\n",
        'src/ipam/a.ts': "import { b } from './b.js';\nexport const a = b;\n",
        'src/ipam/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
      };
      for (const [path, text] of Object.entries(files)) {
        mkdirSync(join(dir, path, '..'), { recursive: true });
        writeFileSync(join(dir, path), text);
      }
      const result = await cruise(dir);
      expect(result.code).not.toBe(0);
      expect(result.output).toMatch(/error netlink: src\/netlink\/codec\.ts → src\/cnm\/controller\.ts/u);
      expect(result.output).toMatch(/error cli: src\/cli\/main\.ts → src\/cnm\/controller\.ts/u);
      expect(result.output).toMatch(/error no-cycle: src\/ipam\/a\.ts → /u);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
