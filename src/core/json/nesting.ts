/**
 * A bound on how deeply parsed JSON nests. `JSON.parse` itself copes with any depth, but everything
 * that walks the value afterwards by recursion (`JSON.stringify` included) overflows the stack on a
 * few thousand brackets: request data is checked here first, by a walk with its own stack, never by
 * recursion. Width needs no check of its own: the byte cap of every body bounds it.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8259#section-9 (parsers may limit nesting)
 */

/** The deepest nesting any request body or frame may have (`{"a":{"b":1}}` is 2). */
export const MAX_JSON_DEPTH = 32

/**
 * True when `value` nests arrays and objects at most `maxDepth` deep; stops at the first level past it.
 *
 * @example
 * nestingWithin(JSON.parse('{"x":[[1]]}'), 3) // true
 * nestingWithin(JSON.parse('{"x":[[1]]}'), 2) // false
 */
export const nestingWithin = (value: unknown, maxDepth: number = MAX_JSON_DEPTH): boolean => {
  const pending: Array<{ node: object; depth: number }> = []
  if (value !== null && typeof value === 'object') pending.push({ node: value, depth: 1 })
  for (let item = pending.pop(); item !== undefined; item = pending.pop()) {
    if (item.depth > maxDepth) return false
    const children: unknown[] = Array.isArray(item.node) ? item.node : Object.values(item.node)
    for (const child of children) {
      if (child !== null && typeof child === 'object') pending.push({ node: child, depth: item.depth + 1 })
    }
  }
  return true
}
