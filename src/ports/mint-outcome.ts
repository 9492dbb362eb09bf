/**
 * Outcome of a write that gives a device credentials. `denied` when, at that instant, the account is
 * missing, disabled or locked, or the device (or family) is gone: the check and the write are one step,
 * so a disable or revoke that lands first always wins.
 */
export type MintOutcome = 'ok' | 'exists' | 'denied'

/**
 * Outcome of a session mint (`DeviceStore.createWithTokens`): a {@link MintOutcome}, or `full` when
 * the new device would pass the account's cap on devices (finding 62) even after the devices that can
 * no longer refresh were signed out; nothing is written then.
 */
export type SessionMintOutcome = MintOutcome | 'full'
