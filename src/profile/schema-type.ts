/**
 * The TypeScript type a JSON-schema fragment describes, derived at the type level from
 * the fragment itself (written `as const`), so the raw profile type is never a hand-made
 * copy of the schema. Covers the keywords warpc's profile schema uses: `type` (string,
 * integer, number, boolean, array, object), `enum`, `properties` + `required`, `items`,
 * and `$ref` to `#/definitions/…`. Decides nothing at run time; imports nothing.
 */

/** Intersections shown as one object in editor hovers. */
type Simplify<T> = { [K in keyof T]: T[K] } & {};

type RequiredKeys<S> = S extends { readonly required: readonly (infer R)[] } ? R : never;

type ObjectOf<P, R, D> = Simplify<
  { -readonly [K in keyof P & R]-?: FromSchema<P[K], D> } & { -readonly [K in Exclude<keyof P, R>]?: FromSchema<P[K], D> }
>;

/** The value type of schema `S`, with `D` the schema's `definitions` for `$ref`s. */
export type FromSchema<S, D = unknown> = S extends { readonly $ref: `#/definitions/${infer K}` }
  ? K extends keyof D
    ? FromSchema<D[K], D>
    : never
  : S extends { readonly enum: readonly (infer E)[] }
    ? E
    : S extends { readonly type: 'string' }
      ? string
      : S extends { readonly type: 'integer' | 'number' }
        ? number
        : S extends { readonly type: 'boolean' }
          ? boolean
          : S extends { readonly type: 'array'; readonly items: infer I }
            ? FromSchema<I, D>[]
            : S extends { readonly type: 'object'; readonly properties: infer P }
              ? ObjectOf<P, RequiredKeys<S>, D>
              : unknown;
