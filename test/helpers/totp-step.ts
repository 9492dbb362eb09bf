/**
 * Wall-clock TOTP in tests that drive a real server: a code made for the step before the current one
 * (RFC 6238, 30 s steps) is accepted only until the current step ends. When less than `marginMs` of the
 * step is left, this waits for the next step to begin, so such a code is still inside the server's window
 * when a slow page finally sends it.
 */
export const awayFromTotpStepEdge = async (marginMs = 10_000, stepMs = 30_000): Promise<void> => {
  const left = stepMs - (Date.now() % stepMs)
  if (left < marginMs) await new Promise((resolve) => setTimeout(resolve, left + 50))
}
