import type { SecurityFeedBounds } from './security-state-store.ts'

/** A security-relevant event of an account, for its devices (and later webhooks). Never holds secrets. */
export interface SecurityEvent {
  type:
    | 'recovery_code_used'
    | 'password_changed'
    | 'totp_enabled'
    | 'totp_disabled'
    | 'recovery_codes_regenerated'
    /** A new device signed in by QR (`deviceId` is the new device; details name the approver). */
    | 'device_signed_in'
    /** A device was reported "not me" and signed out (`deviceId` is the reported device). */
    | 'device_not_me'
    /** The operator disabled the account (every device signed out) or enabled it again (CLI, admin API). */
    | 'account_disabled'
    | 'account_enabled'
    /** The operator signed one device out (`deviceId` is that device). */
    | 'device_revoked'
    /**
     * A device was signed out at the user's request, by itself or from another device, by an RFC 7009
     * revocation of one of its tokens, or when a rotated-out refresh token of it came back (`deviceId` is
     * the device signed out; details `by_device`, `self`, `device_name`, and `via: "token_revocation"`
     * for a revocation, MSC4254, or `via: "refresh_token_reuse"` for a reuse, RFC 9700 §4.14.2).
     */
    | 'device_signed_out'
    /** A device was renamed (`deviceId` is that device; details `by_device`, `self`, `old_name`, `new_name`). */
    | 'device_renamed'
  atMs: number
  /** The device the event is about (the acting one, or the one acted on: see each type). */
  deviceId?: string
  /** Event-specific public facts (e.g. how many recovery codes are left). */
  details?: Record<string, string | number | boolean>
}

/** Where security events go. Delivery (events endpoint, webhooks) plugs in behind it. Must not throw. */
export interface SecurityEvents {
  emit(accountId: string, event: SecurityEvent): Promise<void>
  /**
   * `emit` for an event the durable store already holds in the account's feed, appended in the same
   * step as the change it reports (`DeviceStore.createWithTokens`): the feed only wakes its readers,
   * every other sink hears it as from `emit`. Absent: the sink cannot tell, so such events are emitted.
   * The same event may be told again (a retry that finds the change committed, since a crash after the
   * commit may have kept the first telling from the sinks): a sink takes it as a repeat (the webhook
   * sink's id for such an event is derived from it, so it enqueues one message).
   */
  stored?(accountId: string, event: SecurityEvent): Promise<void>
  /**
   * The bounds of the account feed these events go to in the durable store (`SecurityStateStore`), when
   * they do: a writer may then append an event in its own step (`FeedAppend`) and call `stored`.
   */
  readonly feedBounds?: SecurityFeedBounds
}
