import { createRequire } from 'node:module';

const req = createRequire(import.meta.url);

function versionOf(spec: string): string | undefined {
  try {
    return (req(spec) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** This package's version (from its package.json, one folder above src/ and dist/). */
export const VERSION: string = versionOf('../package.json') ?? '0.0.0';

/** Versions of the packages a model came from, as installed next to @x/onnx. */
export function sourceVersions(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['@x/tensor', '@x/compress']) {
    const v = versionOf(`${name}/package.json`);
    if (v) out[name] = v;
  }
  return out;
}
