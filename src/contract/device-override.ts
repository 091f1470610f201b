/**
 * What an enrolled device puts over the compiled plan it runs: its own tunnel
 * addresses and the gateway peer from its registration (src/contract/orchestrator.ts,
 * Registration.config), and the addresses that must never enter the tunnel
 * whatever the profile says. The agent (src/agent/) builds it; the runtime takes
 * it with the plan and uses it in place of settings.json's interface.ipv4/ipv6
 * and the first [Peer]'s PublicKey and Endpoint of wireguard.conf (or, for a
 * MASQUE plan, masque.json's endpoint and server_pin), and adds the
 * bypass addresses to the routes and the firewall as the plan's own bypass is
 * (a throw route in warpc's table, an element of the nft host_bypass set), for
 * `up` and for every live apply. The compiled files themselves are never changed:
 * their manifest still verifies, and the override is the same for the agent's life.
 */
export interface DeviceOverride {
  readonly interface: { readonly ipv4: string; readonly ipv6: string | null };
  readonly peer: { readonly public_key: string; readonly endpoint: string };
  /**
   * The gateway's MASQUE side from the registration (a `tunnel_type: masque` peer): used in place
   * of masque.json's endpoint and server_pin when the plan is a MASQUE one. `endpoint` is
   * `ip:port` or `[v6]:port`, `server_pin` is `sha256/BASE64`. Absent: masque.json's stay.
   */
  readonly masque?: { readonly endpoint: string; readonly server_pin: string };
  /**
   * IP addresses (no prefix) outside the tunnel whatever the plan: the
   * orchestrator's (the orchestration endpoint never obeys Split Tunnel rules,
   * so a device cut from the gateway still hears that it was revoked) and the
   * gateway peer's endpoint (the tunnel never routes into itself). Absent in a
   * journal written before the field existed.
   */
  readonly bypass?: readonly string[];
}
