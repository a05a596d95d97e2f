import fs from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { load } from 'js-yaml';

type Schema = Record<string, unknown>;

/**
 * A check of a JSON answer against the 200 answer docs/openapi.yaml documents for a GET path: true,
 * or the validator's errors in words.
 */
export function documented(): (p: string, body: unknown) => true | string {
  const doc = load(
    fs.readFileSync(path.resolve(import.meta.dirname, '..', '..', 'docs', 'openapi.yaml'), 'utf8'),
  ) as {
    paths: Record<
      string,
      Record<string, { responses: Record<string, { content?: { 'application/json'?: { schema: Schema } } }> }>
    >;
    components: Schema;
  };
  // OpenAPI 3.0's schemas are JSON Schema with `nullable` (Ajv knows it)
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema({ components: doc.components }, 'openapi');
  const rewrite = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(rewrite)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v).map(([k, x]) => [
              k,
              k === '$ref' && typeof x === 'string' ? x.replace(/^#/, 'openapi#') : rewrite(x),
            ]),
          )
        : v;
  return (p, body) => {
    const schema = doc.paths[p]!.get!.responses['200']!.content!['application/json']!.schema;
    const validate = ajv.compile(rewrite(schema) as Schema);
    return validate(body) ? true : ajv.errorsText(validate.errors);
  };
}
