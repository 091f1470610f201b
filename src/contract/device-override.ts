/**
 * What an enrolled device puts over the compiled plan it runs: its own tunnel
 * addresses and the gateway peer from its registration (src/contract/orchestrator.ts,
 * Registration.config). The agent (src/agent/) builds it; the runtime takes it
 * with the plan and uses it in place of settings.json's interface.ipv4/ipv6 and
 * the first [Peer]'s PublicKey and Endpoint of wireguard.conf, for `up` and for
 * every live apply. The compiled files themselves are never changed: their
 * manifest still verifies, and the override is the same for the agent's life.
 */
export interface DeviceOverride {
  readonly interface: { readonly ipv4: string; readonly ipv6: string | null };
  readonly peer: { readonly public_key: string; readonly endpoint: string };
}
