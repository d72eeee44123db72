/**
 * Docker's --change instructions (`commit --change`, `image import --change`), applied to an image config: CMD and
 * ENTRYPOINT (JSON or shell form), ENV, WORKDIR, USER, EXPOSE, LABEL. Other Dockerfile instructions are refused.
 */
import { InvalidArgumentError } from '../errors.js';
import type { ImageConfig } from './types.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** JSON form (["a", "b"]) as it is; shell form through /bin/sh -c, as Docker. */
function commandForm(text: string): string[] {
  const t = text.trim();
  if (t.startsWith('[')) {
    const parsed = JSON.parse(t) as unknown;
    if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) return parsed as string[];
    throw new InvalidArgumentError(`invalid --change: ${text} is not a JSON list of strings`);
  }
  return ['/bin/sh', '-c', t];
}

/** KEY=VALUE pairs (several on a line), or the older "KEY VALUE" form. */
function pairs(text: string): [string, string][] {
  const t = text.trim();
  if (!/^[^=\s]+=/u.test(t)) {
    const sp = t.indexOf(' ');
    return sp === -1 ? [] : [[t.slice(0, sp), t.slice(sp + 1).trim()]];
  }
  return [...t.matchAll(/([^=\s]+)=("(?:[^"\\]|\\.)*"|\S*)/gu)].map((m) => [m[1]!, m[2]!.startsWith('"') ? (JSON.parse(m[2]!) as string) : m[2]!]);
}

export function applyChanges(base: ImageConfig, changes: readonly string[]): ImageConfig {
  const c: Mutable<ImageConfig> = { ...base };
  for (const change of changes) {
    const m = /^\s*([A-Za-z]+)\s+(.*)$/su.exec(change);
    if (!m) throw new InvalidArgumentError(`invalid --change "${change}": use INSTRUCTION ARGUMENTS, e.g. CMD ["sh"]`);
    const [, word = '', arg = ''] = m;
    switch (word.toUpperCase()) {
      case 'CMD':
        c.Cmd = commandForm(arg);
        break;
      case 'ENTRYPOINT':
        c.Entrypoint = commandForm(arg);
        break;
      case 'ENV': {
        const env = [...(c.Env ?? [])];
        for (const [k, v] of pairs(arg)) {
          const i = env.findIndex((e) => e.startsWith(`${k}=`));
          if (i === -1) env.push(`${k}=${v}`);
          else env[i] = `${k}=${v}`;
        }
        c.Env = env;
        break;
      }
      case 'WORKDIR':
        c.WorkingDir = arg.trim();
        break;
      case 'USER':
        c.User = arg.trim();
        break;
      case 'EXPOSE':
        c.ExposedPorts = {
          ...c.ExposedPorts,
          ...Object.fromEntries(
            arg
              .trim()
              .split(/\s+/u)
              .map((p) => [p.includes('/') ? p : `${p}/tcp`, {}]),
          ),
        };
        break;
      case 'LABEL':
        c.Labels = { ...c.Labels, ...Object.fromEntries(pairs(arg)) };
        break;
      default:
        throw new InvalidArgumentError(`invalid --change "${change}": ${word} is not one of CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL`);
    }
  }
  return c;
}
