/** Deterministic JSON: keys in insertion order as built by a serializer, 2-space indent, final newline. */
export function stableJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
