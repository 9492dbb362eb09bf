/**
 * Outcome of a write that gives a device credentials. `denied` when, at that instant, the account is
 * missing, disabled or locked, or the device (or family) is gone: the check and the write are one step,
 * so a disable or revoke that lands first always wins.
 */
export type MintOutcome = 'ok' | 'exists' | 'denied'
