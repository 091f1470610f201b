/** A device of a match table (fixtures/import/<account>/match-cases.yaml) as the evaluator's Device. */
import type { Device } from '../../src/match/eval.js';

export interface DeviceCase {
  email?: string;
  groups?: string[];
  os?: Device['os'];
  os_version?: string;
  network?: string;
  service_token?: string;
}

export function deviceOf(d: DeviceCase): Device {
  return {
    ...(d.email !== undefined ? { email: d.email } : {}),
    ...(d.groups !== undefined ? { groups: d.groups } : {}),
    ...(d.os !== undefined ? { os: d.os } : {}),
    ...(d.os_version !== undefined ? { osVersion: d.os_version } : {}),
    ...(d.network !== undefined ? { network: d.network } : {}),
    ...(d.service_token !== undefined ? { serviceTokenUuid: d.service_token } : {}),
  };
}
