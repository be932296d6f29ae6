// Just enough of TypeScript's module resolution to find the source of a class an app's config
// class extends: relative imports, tsconfig.base.json "paths" (@app/config), index files, and
// re-exports (`export * from`, `export { A as B } from`). Read with regexes; no compiler.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const read = (file) => readFileSync(file, 'utf8');

/** tsconfig.base.json's compilerOptions.paths, resolved against its baseUrl ({} without one). */
export function readTsPaths(root) {
  const file = join(root, 'tsconfig.base.json');
  if (!existsSync(file)) return { baseUrl: root, paths: {} };
  const text = read(file);
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    // tsconfig allows comments and trailing commas: strip them (crudely; enough for a tsconfig)
    json = JSON.parse(
      text
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/(^|[^:"])\/\/.*$/gm, '$1')
        .replace(/,(\s*[}\]])/g, '$1'),
    );
  }
  const { compilerOptions = {} } = json;
  return { baseUrl: resolve(root, compilerOptions.baseUrl ?? '.'), paths: compilerOptions.paths ?? {} };
}

function asSourceFile(base) {
  for (const f of [base, `${base}.ts`, `${base}.mts`, `${base}.d.ts`, join(base, 'index.ts')])
    if (/\.m?ts$/.test(f) && existsSync(f)) return f;
  return null;
}

/** The file an import specifier in `fromFile` names, or null (a package from node_modules, or not found). */
export function resolveImport(fromFile, spec, root) {
  if (spec.startsWith('.')) return asSourceFile(resolve(dirname(fromFile), spec));
  const { baseUrl, paths } = readTsPaths(root);
  for (const [pattern, targets] of Object.entries(paths)) {
    const star = pattern.indexOf('*');
    let rest = null;
    if (star < 0) rest = pattern === spec ? '' : null;
    else if (spec.startsWith(pattern.slice(0, star)) && spec.endsWith(pattern.slice(star + 1)))
      rest = spec.slice(star, spec.length - (pattern.length - star - 1));
    if (rest === null) continue;
    for (const t of targets) {
      const f = asSourceFile(resolve(baseUrl, t.replace('*', rest)));
      if (f) return f;
    }
  }
  return null;
}

/** `class Name [extends Base] [implements ...] {` in a source text: { name, base, open (index of its `{`) } or null. */
export function findClassHead(src, name) {
  const re = new RegExp(
    `(?:^|[\\s;}])(?:export\\s+)?(?:abstract\\s+)?class\\s+(${name ?? '\\w+'})\\b(?:\\s+extends\\s+([\\w.]+))?(?:\\s+implements\\s+[^{]+)?\\s*\\{`,
  );
  const m = re.exec(src);
  if (!m) return null;
  return { name: m[1], base: m[2] ?? null, open: m.index + m[0].length - 1 };
}

/** The body of the class whose `{` is at `open` (braces counted; enough for config classes). */
export function classBody(src, open) {
  let depth = 0;
  for (let i = open; i < src.length; i++) {
    if (src[i] === '{') depth++;
    else if (src[i] === '}' && --depth === 0) return src.slice(open + 1, i);
  }
  return src.slice(open + 1);
}

/** Named imports of a file: local name -> { imported, spec }. */
function namedImports(src) {
  const out = new Map();
  for (const m of src.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*['"]([^'"]+)['"]/g)) {
    for (const part of m[1].split(',')) {
      const [imported, local] = part
        .trim()
        .replace(/^type\s+/, '')
        .split(/\s+as\s+/);
      if (imported) out.set((local ?? imported).trim(), { imported: imported.trim(), spec: m[2] });
    }
  }
  return out;
}

/** The file that declares class `name` exported by module `file`, following re-exports. */
function findExportedClass(file, name, root, seen = new Set()) {
  if (!file || seen.has(file)) return null;
  seen.add(file);
  const src = read(file);
  if (findClassHead(src, name)) return { file, name };
  for (const m of src.matchAll(/export\s*\{([^}]*)\}\s*from\s*['"]([^'"]+)['"]/g)) {
    for (const part of m[1].split(',')) {
      const [orig, alias] = part.trim().split(/\s+as\s+/);
      if ((alias ?? orig)?.trim() === name)
        return findExportedClass(resolveImport(file, m[2], root), orig.trim(), root, seen);
    }
  }
  for (const m of src.matchAll(/export\s+\*\s+from\s*['"]([^'"]+)['"]/g)) {
    const found = findExportedClass(resolveImport(file, m[1], root), name, root, seen);
    if (found) return found;
  }
  return null;
}

/**
 * Where class `name`, as seen from `fromFile` (declared there or imported), is declared:
 * { file, name } (the name it is declared under), or null.
 */
export function locateClass(fromFile, name, root) {
  const src = read(fromFile);
  if (findClassHead(src, name)) return { file: fromFile, name };
  const imp = namedImports(src).get(name);
  if (!imp) return null;
  return findExportedClass(resolveImport(fromFile, imp.spec, root), imp.imported, root);
}
