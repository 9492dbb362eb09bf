/**
 * A pure function of a string, remembered for the inputs seen lately: at most `max` answers are kept,
 * and the memory starts over when it is full (no order to keep, nothing to evict one by one). For
 * inputs that repeat (a channel's id, an endpoint's URL) and answers that cost more than a Map lookup.
 *
 * @example
 * const hashOf = boundedMemo((id) => redact(id), 4096)
 */
export const boundedMemo = <T>(compute: (input: string) => T, max: number): ((input: string) => T) => {
  const known = new Map<string, T>()
  return (input) => {
    let answer = known.get(input)
    if (answer === undefined) {
      answer = compute(input)
      if (known.size >= max) known.clear()
      known.set(input, answer)
    }
    return answer
  }
}
